/**
 * Where a logged prediction's CPU goes, from V8 CPU profiles (`node --cpu-prof`) of the local system:
 * each sample is given to the stage of its innermost frame that belongs to one (the gateway, the proxy
 * event, the handler, the model call, the log write, the table stream), so time in Node's own HTTP code,
 * in `contract/` and in the AWS SDK counts for whichever of ours called it; what no frame of ours reached
 * (socket reads, parsing a response before its callback runs) is Node's HTTP and sockets, and SDK steps
 * resumed after an await are the SDK's own. Only samples inside a time window count. A sample's time runs
 * to the next one, so a thread preempted inside a system call (a write that wakes its reader) charges the
 * wait to that call: read the stages as where the thread was, and /proc's CPU figures as what it spent.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The parts of a V8 `.cpuprofile` read here. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Stages by the file a frame runs in, tried in order: the first whose pattern matches names the frame's stage. */
const STAGES: readonly [stage: string, url: RegExp][] = [
  ['gateway', /\/local\/(gateway|request-codings)\.ts|\/container\/src\/early-answer\.ts/],
  ['proxy event', /\/local\/proxy-event\.ts/],
  ['model call', /\/lambda\/model\/(fargate-backend|backend|version-check)\.ts/],
  ['log write (record encoding + SDK call)', /\/lambda\/log\/(prediction-log-store|log-writer)\.ts/],
  ['handler logs and metrics', /\/lambda\/runtime\/(logger|metrics|log-output)\.ts|\/local\/terminal-log\.ts/],
  ['table stream (analytics writer, S3)', /\/lambda\/analytics\/|\/local\/log-stream\.ts|node_modules\/(hyparquet|s3rver|koa|@hpcc-js)/],
  ['predict handler', /\/lambda\//],
  [
    'embedded DynamoDB',
    /node_modules\/(dynalite|level-[a-z]+|memory-level|abstract-level|functional-red-black-tree|big\.js|lock|async)\/|\/local\/dynamodb(-worker)?\.ts|\/local\/change-journal\.ts/,
  ],
];
const NODE_IO = "Node's HTTP, sockets and timers (no frame of ours)";
/** SDK frames count for the stage that called them; with none above (an awaited step resumed), apart. */
const SDK = /node_modules\/(@aws-sdk|@smithy|@aws-crypto)\//;
const SDK_RESUMED = 'AWS SDK, steps resumed after an await (no caller on the stack)';

/** Microseconds of CPU per stage (idle left out), in one profile. */
export function stageTimes(profile: CpuProfile, window: { from: number; to: number }): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stageOf = new Map<number, string>();
  const classify = (id: number): string => {
    const known = stageOf.get(id);
    if (known !== undefined) return known;
    const { functionName, url } = byId.get(id)?.callFrame ?? { functionName: '', url: '' };
    let stage: string | undefined;
    if (functionName === '(idle)') stage = '(idle)';
    else if (functionName === '(garbage collector)') stage = 'garbage collection';
    else if (functionName === '(program)') stage = 'V8 and libuv (program)';
    else stage = STAGES.find(([, re]) => re.test(url))?.[0];
    if (stage === undefined) {
      const up = parent.get(id);
      stage = up === undefined ? NODE_IO : classify(up);
      if (stage === NODE_IO && SDK.test(url)) stage = SDK_RESUMED;
    }
    stageOf.set(id, stage);
    return stage;
  };
  const times = new Map<string, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < window.from || t > window.to) continue;
    const id = profile.samples[i];
    const next = profile.timeDeltas[i + 1] ?? 0;
    if (id === undefined) continue;
    const stage = classify(id);
    if (stage !== '(idle)') times.set(stage, (times.get(stage) ?? 0) + next);
  }
  return times;
}

/** Every `.cpuprofile` in `dir` (one per thread), read. */
export function readProfiles(dir: string): { file: string; profile: CpuProfile }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((file) => ({ file, profile: JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile }));
}
