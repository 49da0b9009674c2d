/**
 * The SageMaker API's own request shapes for what the templates send, transcribed from the API
 * reference (https://docs.aws.amazon.com/sagemaker/latest/APIReference/, one page per shape named below).
 * CloudFormation's resource schema is looser in places: AWS::SageMaker::Endpoint marks
 * TrafficRoutingConfig.WaitIntervalInSeconds optional, while the API requires it even for ALL_AT_ONCE and
 * answers a ValidationException at deploy. The check walks every AWS::SageMaker::* resource of a template.
 */

type Member =
  | { shape: string }
  | { list: string; min?: number; max?: number }
  | { string: true; min?: number; max?: number; pattern?: RegExp; values?: string[] }
  | { integer: true; min?: number; max?: number }
  | { boolean: true }
  | { map: true; max?: number; keyPattern?: RegExp; valueMax?: number };

interface Shape {
  required: string[];
  members: Record<string, Member>;
  /** Rules across members the reference states in prose. */
  rules?: ((value: Record<string, unknown>) => string | undefined)[];
}

const NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

/** Shapes by API name; each resource type maps its properties onto one of them. */
export const SHAPES: Record<string, Shape> = {
  // CreateModel request (ExecutionRoleArn, PrimaryContainer).
  CreateModel: {
    required: [],
    members: {
      ExecutionRoleArn: { string: true, min: 20, max: 2048 },
      PrimaryContainer: { shape: 'ContainerDefinition' },
      ModelName: { string: true, pattern: NAME },
    },
  },
  ContainerDefinition: {
    required: [],
    members: {
      Image: { string: true, max: 255 },
      ModelDataUrl: { string: true, max: 1024, pattern: /^(https|s3):\/\/([^/]+)\/?(.*)$/ },
      Environment: { map: true, max: 100, keyPattern: /^[a-zA-Z_][a-zA-Z0-9_]*$/, valueMax: 1024 },
      Mode: { string: true, values: ['SingleModel', 'MultiModel'] },
    },
  },
  // CreateEndpointConfig request.
  CreateEndpointConfig: {
    required: ['ProductionVariants'],
    members: { ProductionVariants: { list: 'ProductionVariant', min: 1, max: 10 }, EndpointConfigName: { string: true, pattern: NAME } },
  },
  ProductionVariant: {
    required: ['VariantName'],
    members: {
      VariantName: { string: true, pattern: NAME },
      ModelName: { string: true, pattern: NAME },
      InitialInstanceCount: { integer: true, min: 1 },
      InitialVariantWeight: { integer: true, min: 0 },
      InstanceType: { string: true, pattern: /^ml\.[a-z0-9]+\.[a-z0-9]+$/ },
      ServerlessConfig: { shape: 'ProductionVariantServerlessConfig' },
    },
    rules: [
      (v) =>
        v.ServerlessConfig !== undefined && (v.InstanceType !== undefined || v.InitialInstanceCount !== undefined)
          ? 'a serverless variant takes no InstanceType or InitialInstanceCount'
          : undefined,
    ],
  },
  ProductionVariantServerlessConfig: {
    required: ['MemorySizeInMB', 'MaxConcurrency'],
    members: { MemorySizeInMB: { integer: true, min: 1024, max: 6144 }, MaxConcurrency: { integer: true, min: 1, max: 200 } },
  },
  // CreateEndpoint request, and UpdateEndpoint's members that CloudFormation sends on updates.
  CreateEndpoint: {
    required: ['EndpointName', 'EndpointConfigName'],
    members: {
      EndpointName: { string: true, pattern: NAME },
      EndpointConfigName: { string: true, pattern: NAME },
      DeploymentConfig: { shape: 'DeploymentConfig' },
      RetainAllVariantProperties: { boolean: true },
      ExcludeRetainedVariantProperties: { list: 'VariantProperty', max: 3 },
      RetainDeploymentConfig: { boolean: true },
    },
  },
  VariantProperty: {
    required: ['VariantPropertyType'],
    members: { VariantPropertyType: { string: true, values: ['DesiredInstanceCount', 'DesiredWeight', 'DataCaptureConfig'] } },
  },
  DeploymentConfig: {
    required: [],
    members: { BlueGreenUpdatePolicy: { shape: 'BlueGreenUpdatePolicy' }, AutoRollbackConfiguration: { shape: 'AutoRollbackConfig' } },
  },
  BlueGreenUpdatePolicy: {
    required: ['TrafficRoutingConfiguration'],
    members: {
      TrafficRoutingConfiguration: { shape: 'TrafficRoutingConfig' },
      TerminationWaitInSeconds: { integer: true, min: 0, max: 3600 },
      MaximumExecutionTimeoutInSeconds: { integer: true, min: 600, max: 28800 },
    },
    rules: [
      (v) => {
        const max = v.MaximumExecutionTimeoutInSeconds;
        const waits =
          Number(v.TerminationWaitInSeconds ?? 0) +
          Number((v.TrafficRoutingConfiguration as Record<string, unknown> | undefined)?.WaitIntervalInSeconds ?? 0);
        return typeof max === 'number' && max <= waits
          ? `MaximumExecutionTimeoutInSeconds ${max} must exceed TerminationWaitInSeconds + WaitIntervalInSeconds (${waits})`
          : undefined;
      },
    ],
  },
  TrafficRoutingConfig: {
    required: ['Type', 'WaitIntervalInSeconds'],
    members: {
      Type: { string: true, values: ['ALL_AT_ONCE', 'CANARY', 'LINEAR'] },
      WaitIntervalInSeconds: { integer: true, min: 0, max: 3600 },
      CanarySize: { shape: 'CapacitySize' },
      LinearStepSize: { shape: 'CapacitySize' },
    },
    rules: [
      (v) => (v.Type === 'CANARY' && v.CanarySize === undefined ? 'CANARY needs CanarySize' : undefined),
      (v) => (v.Type === 'LINEAR' && v.LinearStepSize === undefined ? 'LINEAR needs LinearStepSize' : undefined),
    ],
  },
  CapacitySize: {
    required: ['Type', 'Value'],
    members: { Type: { string: true, values: ['INSTANCE_COUNT', 'CAPACITY_PERCENT'] }, Value: { integer: true, min: 1 } },
    rules: [
      (v) =>
        v.Type === 'CAPACITY_PERCENT' && typeof v.Value === 'number' && v.Value > 50
          ? 'a canary or linear step is at most 50% of the capacity'
          : undefined,
    ],
  },
  AutoRollbackConfig: { required: [], members: { Alarms: { list: 'Alarm', min: 1, max: 10 } } },
  Alarm: { required: ['AlarmName'], members: { AlarmName: { string: true, min: 1, max: 255 } } },
};

/** Which API shape each SageMaker resource type's properties are sent as. */
export const RESOURCE_SHAPES: Record<string, string> = {
  'AWS::SageMaker::Model': 'CreateModel',
  'AWS::SageMaker::EndpointConfig': 'CreateEndpointConfig',
  'AWS::SageMaker::Endpoint': 'CreateEndpoint',
};

/** Members CloudFormation manages itself (tags) rather than sending in the request body. */
const CLOUDFORMATION_ONLY = new Set(['Tags']);

const isToken = (v: unknown) =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).some((k) => k === 'Ref' || k.startsWith('Fn::'));

function check(value: unknown, shapeName: string, path: string, out: string[]): void {
  const shape = SHAPES[shapeName];
  if (isToken(value)) return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    out.push(`${path}: expected a ${shapeName} object`);
    return;
  }
  const v = value as Record<string, unknown>;
  for (const r of shape.required) if (v[r] === undefined) out.push(`${path}.${r}: required by ${shapeName} in the SageMaker API`);
  for (const [key, member] of Object.entries(v)) {
    if (CLOUDFORMATION_ONLY.has(key)) continue;
    const spec = shape.members[key];
    const at = `${path}.${key}`;
    if (!spec) {
      out.push(`${at}: not a member of ${shapeName} in this transcription (add it from the API reference)`);
      continue;
    }
    checkMember(member, spec, at, out);
  }
  for (const rule of shape.rules ?? []) {
    const problem = rule(v);
    if (problem) out.push(`${path}: ${problem}`);
  }
}

function checkMember(value: unknown, spec: Member, at: string, out: string[]): void {
  if (isToken(value)) return;
  if ('shape' in spec) {
    check(value, spec.shape, at, out);
    return;
  }
  if ('list' in spec) {
    if (!Array.isArray(value)) return void out.push(`${at}: expected a list`);
    if (spec.min !== undefined && value.length < spec.min) out.push(`${at}: at least ${spec.min} item(s)`);
    if (spec.max !== undefined && value.length > spec.max) out.push(`${at}: at most ${spec.max} item(s)`);
    for (const [i, item] of value.entries()) check(item, spec.list, `${at}[${i}]`, out);
    return;
  }
  if ('integer' in spec) {
    if (typeof value !== 'number' || !Number.isInteger(value))
      return void out.push(`${at}: expected an integer, got ${JSON.stringify(value)}`);
    if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max))
      out.push(`${at}: ${value} outside ${spec.min ?? '-inf'}..${spec.max ?? 'inf'}`);
    return;
  }
  if ('boolean' in spec) {
    if (typeof value !== 'boolean') out.push(`${at}: expected a boolean`);
    return;
  }
  if ('map' in spec) {
    if (typeof value !== 'object' || value === null) return void out.push(`${at}: expected a map`);
    const entries = Object.entries(value as Record<string, unknown>);
    if (spec.max !== undefined && entries.length > spec.max) out.push(`${at}: at most ${spec.max} entries`);
    for (const [k, v] of entries) {
      if (spec.keyPattern && !spec.keyPattern.test(k)) out.push(`${at}.${k}: key does not match ${spec.keyPattern}`);
      if (typeof v === 'string' && spec.valueMax !== undefined && v.length > spec.valueMax)
        out.push(`${at}.${k}: value longer than ${spec.valueMax}`);
    }
    return;
  }
  // string
  if (typeof value !== 'string') {
    // A Fn::Join of literals and tokens is checked only for its literal parts' shape by the service.
    if (typeof value === 'object' && value !== null) return;
    return void out.push(`${at}: expected a string`);
  }
  if (spec.values && !spec.values.includes(value)) out.push(`${at}: ${JSON.stringify(value)} is not one of ${spec.values.join(', ')}`);
  if (spec.pattern && !spec.pattern.test(value)) out.push(`${at}: ${JSON.stringify(value)} does not match ${spec.pattern}`);
  if (spec.min !== undefined && value.length < spec.min) out.push(`${at}: shorter than ${spec.min}`);
  if (spec.max !== undefined && value.length > spec.max) out.push(`${at}: longer than ${spec.max}`);
}

/** Every problem of every AWS::SageMaker::* resource in a template against the API shapes; empty when all conform. */
export function sageMakerApiProblems(template: { Resources?: Record<string, { Type: string; Properties?: unknown }> }): string[] {
  const out: string[] = [];
  for (const [id, resource] of Object.entries(template.Resources ?? {})) {
    if (!resource.Type.startsWith('AWS::SageMaker::')) continue;
    const shape = RESOURCE_SHAPES[resource.Type];
    if (!shape) {
      out.push(`${id}: ${resource.Type} has no API shape transcribed here`);
      continue;
    }
    check(resource.Properties ?? {}, shape, id, out);
  }
  return out;
}

export function describeSageMakerApiShapes(
  synths: Record<string, () => { templates: { serving: { toJSON(): Record<string, unknown> } } }>,
): void {
  describe('SageMaker API shapes', () => {
    it.each(Object.keys(synths))(
      '%s: every SageMaker property conforms to the API reference, not only to the CloudFormation schema',
      (backend) => {
        const template = synths[backend]().templates.serving.toJSON() as Parameters<typeof sageMakerApiProblems>[0];
        expect(Object.values(template.Resources ?? {}).filter((r) => r.Type.startsWith('AWS::SageMaker::')).length).toBeGreaterThan(0);
        expect(sageMakerApiProblems(template)).toEqual([]);
      },
    );

    it('catches an ALL_AT_ONCE routing without WaitIntervalInSeconds, which the CloudFormation schema allows', () => {
      // GIVEN the serverless endpoint as it was declared before: { Type: ALL_AT_ONCE } alone
      const template = {
        Resources: {
          Endpoint: {
            Type: 'AWS::SageMaker::Endpoint',
            Properties: {
              EndpointName: 'Mlship-Serving-model',
              EndpointConfigName: { 'Fn::GetAtt': ['Config', 'EndpointConfigName'] },
              DeploymentConfig: {
                BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE' }, MaximumExecutionTimeoutInSeconds: 3600 },
              },
            },
          },
        },
      };
      // THEN the API's required member is reported
      expect(sageMakerApiProblems(template)).toEqual([
        'Endpoint.DeploymentConfig.BlueGreenUpdatePolicy.TrafficRoutingConfiguration.WaitIntervalInSeconds: required by TrafficRoutingConfig in the SageMaker API',
      ]);
    });
  });
}
