import { describe, expect, it } from 'vitest';
import { readServerSentEvents, SseParser } from '../src/sse.js';

describe('SseParser', () => {
  it('yields events split across chunks, skips heartbeats, joins data lines', () => {
    const parser = new SseParser();
    expect(parser.push(': heartbeat\n\nevent: queued\ndata: {"id":"1",')).toEqual([]);
    expect(parser.push('"status":"queued"}\n\nevent: completed\r\ndata: a\r\ndata: b\r')).toEqual([{ event: 'queued', data: '{"id":"1","status":"queued"}' }]);
    expect(parser.push('\n\r\n')).toEqual([{ event: 'completed', data: 'a\nb' }]);
  });

  it('names events without an event field "message"', () => {
    expect(new SseParser().push('data:x\n\n')).toEqual([{ event: 'message', data: 'x' }]);
  });
});

describe('readServerSentEvents', () => {
  it('reads events from a byte stream whose chunks split lines, UTF-8 characters and \\r\\n pairs', async () => {
    const text = 'id: 7\r\nevent: completed\r\ndata: a\r\ndata: {"label":"masqué"}\r\n\r\n';
    const bytes = new TextEncoder().encode(text);
    // cut between the \r and \n after "data: a" (not a blank line!), and inside the é
    const cuts = [0, text.indexOf('data: a') + 8, bytes.indexOf(0xc3) + 1, bytes.length];
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 1; i < cuts.length; i++) controller.enqueue(bytes.slice(cuts[i - 1], cuts[i]));
        controller.close();
      },
    });
    const events = [];
    for await (const event of readServerSentEvents(body)) events.push(event);
    expect(events).toEqual([{ event: 'completed', data: 'a\n{"label":"masqué"}', id: '7' }]);
  });
});
