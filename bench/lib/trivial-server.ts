/**
 * A server that does no work: reads the whole upload, answers a detect-shaped JSON at once.
 * bench/ceiling.ts runs it as a child process to measure the load generator's own ceiling.
 */
import { createServer } from 'node:http';

const answer = Buffer.from(
  JSON.stringify({
    success: true,
    result: { width: 464, height: 330, detections: [{ label: 'mask', score: 0.9071, box: [222.5, 49.8, 327.5, 198] }], summary: { faces: 1, masked: 1, unmasked: 0 } },
    processing_time: 0,
  }),
);

const server = createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': answer.length });
    res.end(answer);
  });
});
server.keepAliveTimeout = 30_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
