/**
 * How the local system's parts start and stop: each stops what it had started when its own start fails,
 * the system stops them last-started first, and a start that fails part-way leaves no port, lock or
 * state file behind.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockFile } from '../../local/data-dir-lock';
import { checkPortFree } from '../../local/listen';
import { StopStack, startPart } from '../../local/parts/part';
import { dataPaths, PROJECT_ROOT, type ServicePorts } from '../../local/paths';
import { startLocal } from '../../local/system';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('the parts of the local system', () => {
  it('stop last started first, every stop running even when one fails, and the first failure thrown', async () => {
    // GIVEN three stops, the middle one failing
    const stops = new StopStack();
    const ran: string[] = [];
    stops.defer(() => ran.push('data'));
    stops.defer(() => {
      ran.push('serving');
      throw new Error('serving would not stop');
    });
    stops.add({ stop: async () => void ran.push('api') });
    // WHEN they are stopped, twice
    await expect(stops.stopAll()).rejects.toThrow('serving would not stop');
    await stops.stopAll();
    // THEN each ran once, in reverse order
    expect(ran).toEqual(['api', 'serving', 'data']);
  });

  it('stop what a part had started when its start fails, and throw the start error', async () => {
    const ran: string[] = [];
    await expect(
      startPart(async (started) => {
        started.defer(() => ran.push('first'));
        started.defer(() => {
          throw new Error('a failing stop gives way to the start error');
        });
        throw new Error('second would not start');
      }),
    ).rejects.toThrow('second would not start');
    expect(ran).toEqual(['first']);
  });

  it('stop a started part once, however often stop() is called', async () => {
    let stops = 0;
    const part = await startPart(async (started) => {
      started.defer(() => stops++);
      return { url: 'http://127.0.0.1:1' };
    });
    await Promise.all([part.stop(), part.stop()]);
    await part.stop();
    expect(part.url).toBe('http://127.0.0.1:1');
    expect(stops).toBe(1);
  });

  it('leave no port, lock or state file behind when the system fails part-way through its start', async () => {
    // GIVEN a data folder and fixed ports, and a model server that cannot start (after Data has started)
    const dataDir = mkdtempSync(join(tmpdir(), 'mlship-parts-'));
    const port = await freePort();
    const servicePorts: ServicePorts = { dynamodb: await freePort(), s3: await freePort(), sqs: await freePort(), model: await freePort() };
    const progress: string[] = [];
    try {
      // WHEN the system starts
      const start = startLocal({
        onProgress: (line) => progress.push(line),
        port,
        servicePorts,
        dataDir,
        modelDir: join(PROJECT_ROOT, 'models', 'breast-cancer'),
        apiKey: 'parts-key-0123456789abcdefgh',
        clientApiKey: 'parts-client-0123456789abcdef',
        modelWorkers: 0,
      });
      // THEN it fails with the serving part's message, and what had started is stopped
      await expect(start).rejects.toThrow('modelWorkers must be a positive integer, got 0');
      expect(progress).toContain('starting SQS');
      for (const [what, p] of Object.entries({ api: port, ...servicePorts })) await checkPortFree(p, what);
      expect(existsSync(lockFile(dataDir))).toBe(false);
      expect(existsSync(dataPaths(dataDir).state)).toBe(false);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
