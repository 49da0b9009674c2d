/**
 * A challenger beside the model on every backend, as synthesized: its package uploaded beside the
 * model's, the same image told to load it (CHALLENGER_MODEL_S3_URI) with the right to read it, the
 * predict function given the challenger setting and the routing item (and nothing else of the table
 * more), cdk-nag and CloudFormation Validate clean. The config refuses challenger keys that do not fit.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { ENV } from '../../contract/env';
import { BACKENDS } from '../../contract/limits';
import { DEFAULT_PROMOTION_POLICY } from '../../contract/promotion';
import { CONFIG_FILE, type ConfigError, parseConfig, promoteInConfigFile } from '../../lib/config';
import { modelVersionCopy } from '../support/model-version';
import { expectRetainedDocumented } from './retained-resources';
import { ROOT, type SynthResult, synthBackend } from './synth';

const challengerDir = modelVersionCopy(join(ROOT, 'models/breast-cancer'), '2.0.0');
afterAll(() => rmSync(challengerDir, { recursive: true, force: true }));

const results = new Map<string, SynthResult>();
const synth = (backend: (typeof BACKENDS)[number]) => {
  let r = results.get(backend);
  if (r === undefined) {
    r = synthBackend(backend, { challengerDir, challengerMode: 'split', challengerPercent: 10, autoPromote: { steps: [10, 50] } });
    results.set(backend, r);
  }
  return r;
};

const challengerUri = Match.objectLike({
  'Fn::Join': Match.arrayWith([Match.arrayWith([Match.stringLikeRegexp('/models/breast-cancer/2\\.0\\.0/')])]),
});

describe.each(BACKENDS)('a challenger on %s', (backend) => {
  it('synthesizes with no unacknowledged finding', () => {
    const r = synth(backend);
    expect(r.synthError).toBeUndefined();
    expect(r.violations).toEqual([]);
  });

  it('gives the quality job the promotion policy, the routing item and Publish on the alarm topic', () => {
    const { monitoring } = synth(backend).templates;
    monitoring.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [ENV.PROMOTION_POLICY]: JSON.stringify({ ...DEFAULT_PROMOTION_POLICY, steps: [10, 50] }),
          [ENV.ALARM_TOPIC_ARN]: { Ref: Match.stringLikeRegexp('^MonitoringAlarmTopic') },
        }),
      },
    });
    monitoring.hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: Match.stringLikeRegexp('^MonitoringQualityHandlerRole'),
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['dynamodb:GetItem', 'dynamodb:PutItem'],
            Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['routing#*'] } },
          }),
          Match.objectLike({ Action: 'sns:Publish', Resource: { Ref: Match.stringLikeRegexp('^MonitoringAlarmTopic') } }),
        ]),
      },
    });
  });

  it("uploads the challenger's package beside the model's", () => {
    synth(backend).templates.serving.resourceCountIs('Custom::CDKBucketDeployment', 2);
  });

  it('keeps on delete exactly what docs/deploying.md lists with a challenger', () => {
    expectRetainedDocumented(synth(backend).templates as unknown as Record<string, Template>, backend, ['challengerDir']);
  });

  it('gives the predict function the challenger setting and the routing item only', () => {
    const { api } = synth(backend).templates;
    api.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [ENV.CHALLENGER]: JSON.stringify({ version: '2.0.0', mode: 'split', percent: 10 }) }) },
    });
    api.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['dynamodb:GetItem', 'dynamodb:PutItem'],
            Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['routing#*'] } },
          }),
        ]),
      },
    });
  });
});

describe('the image loads the challenger', () => {
  it('fargate: the task is told where the package is (read under the model prefix it may already read)', () => {
    synth('fargate').templates.serving.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: Match.arrayWith([
        Match.objectLike({ Environment: Match.arrayWith([{ Name: ENV.CHALLENGER_MODEL_S3_URI, Value: challengerUri }]) }),
      ]),
    });
  });

  it.each(['sagemaker', 'sagemaker-serverless'] as const)('%s: the container is told where, and its role may read that key', (backend) => {
    const { serving } = synth(backend).templates;
    serving.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: Match.objectLike({
        Environment: Match.objectLike({ [ENV.CHALLENGER_MODEL_S3_URI]: challengerUri, AWS_REGION: Match.anyValue() }),
      }),
    });
    serving.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Action: 's3:GetObject', Resource: Match.arrayWith([challengerUri]) })]),
      },
    });
  });
});

describe('config', () => {
  const problems = (raw: Record<string, unknown>) => {
    try {
      parseConfig(raw);
      return [];
    } catch (e) {
      return (e as ConfigError).problems;
    }
  };

  it('refuses challenger keys that do not fit, naming the key to fix', () => {
    expect(problems({ challengerMode: 'split' })).toEqual([
      expect.stringMatching(/^challengerMode = "split": expected nothing: set challengerDir first/),
    ]);
    expect(problems({ challengerDir: 'v2', challengerMode: 'split' })).toEqual([
      expect.stringMatching(/^challengerPercent = \(missing\): expected a percent from 1 to 50/),
    ]);
    expect(problems({ challengerDir: 'v2', challengerPercent: 10 })).toEqual([
      expect.stringMatching(/^challengerPercent = 10: expected nothing with challengerMode "shadow"/),
    ]);
    expect(problems({ challengerDir: 'v2', challengerMode: 'split', challengerPercent: 60 })).toEqual([
      'challengerPercent = 60: expected an integer from 1 to 50',
    ]);
    expect(problems({ challengerDir: 'v2', challengerMode: 'canary' })).toEqual([
      'challengerMode = "canary": expected one of shadow, split',
    ]);
    expect(problems({ challengerDir: 'v2', challengerMode: 'split', challengerPercent: 10 })).toEqual([]);
  });

  it('takes autoPromote for a split challenger only, and checks its settings', () => {
    const split = { challengerDir: 'v2', challengerMode: 'split', challengerPercent: 5 };
    expect(problems({ ...split, autoPromote: true })).toEqual([]);
    expect(problems({ ...split, autoPromote: { steps: [10, 30], minLabeled: 200 } })).toEqual([]);
    expect(problems({ challengerDir: 'v2', autoPromote: true })).toEqual([
      expect.stringMatching(/^autoPromote = true: expected a split challenger to move up/),
    ]);
    expect(problems({ autoPromote: true })).toEqual([expect.stringMatching(/^autoPromote = true: expected a split challenger/)]);
    expect(problems({ ...split, autoPromote: { steps: [30, 10] } })).toEqual([
      expect.stringMatching(/^autoPromote = .*steps must ascend, got \[30,10\]/),
    ]);
    expect(problems({ ...split, autoPromote: { tolerance: 2, typo: 1 } })).toEqual([
      expect.stringMatching(/^autoPromote = .*: expected the promotion policy is invalid: .*(tolerance.*typo|typo.*tolerance)/),
    ]);
    expect(problems({ ...split, autoPromote: 'yes' })).toEqual([
      'autoPromote = "yes": expected true, false or an object of policy settings',
    ]);
  });

  it('after a promotion on a stack, the config serves the challenger alone', () => {
    const root = mkdtempSync(join(tmpdir(), 'mlship-config-'));
    try {
      const file = join(root, CONFIG_FILE);
      writeFileSync(
        file,
        JSON.stringify({
          backend: 'fargate',
          modelDir: 'models/v1',
          challengerDir: 'models/v2',
          challengerMode: 'split',
          challengerPercent: 5,
          autoPromote: true,
        }),
      );
      expect(promoteInConfigFile(root)).toMatch(/modelDir is now models\/v2/);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ backend: 'fargate', modelDir: 'models/v2' });
      // Nothing to follow once the file names no challenger.
      expect(promoteInConfigFile(root)).toBeUndefined();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('refuses at synth a challenger that cannot stand beside the model', () => {
    const same = modelVersionCopy(join(ROOT, 'models/breast-cancer'), '1.0.0');
    try {
      expect(() => synthBackend('fargate', { challengerDir: same })).toThrow(
        /challengerDir = ".*": The challenger cannot stand beside the champion: its version is the champion's/,
      );
    } finally {
      rmSync(same, { recursive: true, force: true });
    }
  });
});
