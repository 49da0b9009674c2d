/**
 * The floor under the model server at concurrency 1: a bare node:http server that reads each request's
 * body and answers the bytes the model server answers, with the same headers, and does nothing else (no
 * parsing, no model). Loopback, the kernel and the load generator cost this much whatever the server does.
 *
 *   node bench/container/bare-http.ts BODY_FILE  → prints the URL, serves until killed
 */
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

const body = readFileSync(process.argv[2] as string);
const headers = { 'content-type': 'application/json', 'content-length': body.length, 'x-mlship-model': 'breast-cancer/1.0.0' };
const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  req.on('data', () => undefined);
  req.on('end', () => {
    res.writeHead(200, headers);
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => console.log(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
