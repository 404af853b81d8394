import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { caffeModelDir } from '../../../test-support/paths.js';
import { parseNetPrototxt } from '../src/caffe/load.js';
import { parsePrototxt, PrototxtSyntaxError, type TextMessage } from '../src/caffe/prototxt.js';
import { PrototxtSchemaError, textToObject } from '../src/caffe/text-to-object.js';
import { caffeType, toObjectOptions } from '../src/proto/schemas.js';

/** field name -> scalar values (or nested summaries), for compact assertions */
function summarize(message: TextMessage): unknown[] {
  return message.fields.map((f) => [
    f.name,
    f.value.kind === 'message' ? summarize(f.value) : f.value.kind === 'string' ? f.value.value : f.value.kind === 'number' ? f.value.value : f.value.text,
  ]);
}

describe('parsePrototxt', () => {
  it('reads scalars, nested blocks and repeated fields in order', () => {
    const tree = parsePrototxt(`
      name: "net"  # a comment
      input_dim: 1
      input_dim: 3
      layer {
        type: "Pooling"
        pooling_param { pool: MAX kernel_size: 2 }
        flag: true
      }
    `);
    expect(summarize(tree)).toEqual([
      ['name', 'net'],
      ['input_dim', 1],
      ['input_dim', 3],
      ['layer', [['type', 'Pooling'], ['pooling_param', [['pool', 'MAX'], ['kernel_size', 2]]], ['flag', 'true']]],
    ]);
    expect(tree.fields[3]!.line).toBe(5);
  });

  it('reads numbers in every text-format spelling', () => {
    const values = summarize(parsePrototxt('a: -1 a: 0x1F a: 017 a: 2.5 a: .5 a: 1e-3 a: 2.5f a: -inf a: nan a: +7'))
      .map((f) => (f as [string, number])[1]);
    expect(values.slice(0, 7)).toEqual([-1, 31, 15, 2.5, 0.5, 0.001, 2.5]);
    expect(values[7]).toBe(-Infinity);
    expect(values[8]).toBeNaN();
    expect(values[9]).toBe(7);
  });

  it('reads string escapes, single quotes and adjacent-string concatenation', () => {
    const tree = parsePrototxt(String.raw`s: "a\"b\n\t\\" t: 'it''s' u: "x" "y" v: "\101\x42" w: "é"`);
    const fields = tree.fields.map((f) => (f.value.kind === 'string' ? f.value.value : null));
    expect(fields).toEqual(['a"b\n\t\\', 'its', 'xy', 'AB', 'é']);
  });

  it('accepts colon-before-brace, angle brackets, lists and separators', () => {
    const tree = parsePrototxt('a: { b: 1; c: 2, } d < e: 3 > f: [1, 2, 3] g: [{ h: 1 }, { h: 2 }] k: []');
    expect(summarize(tree)).toEqual([
      ['a', [['b', 1], ['c', 2]]],
      ['d', [['e', 3]]],
      ['f', 1],
      ['f', 2],
      ['f', 3],
      ['g', [['h', 1]]],
      ['g', [['h', 2]]],
    ]);
  });

  it.each([
    ['a: "unterminated', /unterminated string \(line 1, column 4\)/],
    ['a {\n b: 1\n', /expected a field name, got end of input \(line 3/],
    ['a }', /expected ':' or '\{' after 'a'/],
    ['a: }', /expected a value, got '\}'/],
    ['a: 12abc', /malformed number/],
    ['a: [1 2]', /expected ',' or '\]'/],
    ['a: "\\q"', /unknown escape/],
    ['}', /expected a field name/],
  ])('rejects %j with a located error', (source, message) => {
    expect(() => parsePrototxt(source)).toThrow(PrototxtSyntaxError);
    expect(() => parsePrototxt(source)).toThrow(message);
  });
});

describe('textToObject (against caffe.proto)', () => {
  const layer = caffeType('LayerParameter');

  it('types values and fills proto2 defaults', () => {
    const obj = textToObject<Record<string, Record<string, unknown>>>(
      layer,
      parsePrototxt('name: "c" type: "Convolution" convolution_param { num_output: 8 pad: 1 kernel_size: 3 }'),
    );
    expect(obj.convolution_param).toMatchObject({ num_output: 8, pad: [1], kernel_size: [3], bias_term: true, group: 1 });
    expect(obj.pooling_param).toBeNull();
  });

  it('reads enums by name or number', () => {
    const byName = textToObject<{ pooling_param: { pool: string } }>(layer, parsePrototxt('pooling_param { pool: AVE }'));
    const byNumber = textToObject<{ pooling_param: { pool: string } }>(layer, parsePrototxt('pooling_param { pool: 0 }'));
    expect([byName.pooling_param.pool, byNumber.pooling_param.pool]).toEqual(['AVE', 'MAX']);
  });

  it.each([
    ['bogus: 1', /unknown field 'bogus' in caffe.LayerParameter \(line 1\)/],
    ['name: "a"\nname: "b"', /field 'name' given twice .*\(line 2\)/],
    ['name: 3', /expected a quoted string/],
    ['convolution_param { num_output: -1 }', /expected an unsigned integer/],
    ['convolution_param { num_output: 1.5 }', /expected an integer/],
    ['convolution_param { bias_term: maybe }', /expected true or false/],
    ['pooling_param { pool: MEDIAN }', /unknown enum value 'MEDIAN'/],
    ['convolution_param: 3', /expected a \{ \} block/],
  ])('rejects %j', (source, message) => {
    expect(() => textToObject(layer, parsePrototxt(source))).toThrow(PrototxtSchemaError);
    expect(() => textToObject(layer, parsePrototxt(source))).toThrow(message);
  });

  it('reads the face-mask prototxt exactly as protobufjs text format does', async () => {
    const text = readFileSync(join(caffeModelDir, 'face_mask_detection.prototxt'), 'utf8');
    const ours = parseNetPrototxt(text);
    // protobufjs ships its own text-format reader: an independent oracle for ours.
    const textformat = ((await import('protobufjs/ext/textformat.js')) as unknown as {
      default: { fromText(type: protobuf.Type, text: string): protobuf.Message };
    }).default;
    const net = caffeType('NetParameter');
    expect(ours).toEqual(net.toObject(textformat.fromText(net, text), toObjectOptions));
    expect(ours.layer).toHaveLength(79);
    expect(ours.input_dim).toEqual([1, 3, 260, 260]);
    expect(ours.layer.find((l) => l.name === 'conv2d_7')?.convolution_param?.pad).toEqual([]);
    expect(ours.layer.find((l) => l.name === 'cls_0_conv')?.convolution_param?.bias_term).toBe(true);
  });
});
