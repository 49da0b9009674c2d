/**
 * The model container as a SageMaker endpoint: real-time instances with Application Auto Scaling on
 * invocations per instance, or serverless (memory + max concurrency, scales to zero). The execution role
 * may pull the one image repository, read the one model package and write the endpoint's logs.
 */
import { Arn, ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { DockerImageAsset } from 'aws-cdk-lib/aws-ecr-assets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { Construct, type IDependable } from 'constructs';
import { ENV } from '../../contract/env';
import type { SageMakerBatchModel } from '../batch/batch-inference';
import { grantActions } from '../constructs/grant-actions';
import { acknowledgeWildcardResource } from '../constructs/nag';
import { DATA_BUCKET_ACTIONS, ENDPOINT_INVOKE_ACTIONS, PUT_METRIC_DATA_ACTIONS, SAGEMAKER_ENDPOINT_LOG_ACTIONS } from '../constructs/perms';
import type { MonitoredBackend } from '../observability/backend-metrics';
import { sageMakerDeploymentAlarms } from '../rollout/deployment-alarms';
import type { ChallengerPackageRef, ModelBackend, RolloutCheck, RolloutCheckPlacement } from './model-backend';

const VARIANT = 'AllTraffic';

/**
 * The check endpoint: serverless (no cost while idle, no instance quota), one concurrent invocation, with
 * the serving endpoint's memory when that is serverless too.
 */
const CHECK_ENDPOINT = { memorySizeMb: 3072, maxConcurrency: 1 };

/** Endpoint updates: how long SageMaker may take, and how long the old fleet is kept to roll back to. */
const ROLLOUT = {
  canaryPercent: 25,
  /** Below this many instances a canary share is the whole fleet: all at once with the bake time instead. */
  canaryMinInstances: 2,
  canaryWait: Duration.minutes(5),
  terminationWait: Duration.minutes(10),
  maximumExecutionTimeout: Duration.hours(1),
  maxModelLatency: Duration.seconds(1),
};

export interface RealtimeCapacity {
  /** SageMaker hosting instance type, e.g. `ml.m5.large`. */
  readonly instanceType: string;
  /** Instances the endpoint is created with; later deployments keep the count the scaler set. */
  readonly initialInstanceCount: number;
  /** Fewest instances the scaler keeps. */
  readonly minCapacity: number;
  /** Most instances the scaler starts. */
  readonly maxCapacity: number;
  /**
   * Register the variant with Application Auto Scaling. SageMaker refuses an endpoint update that changes
   * the instance type of a variant registered for auto scaling: deploy once with `false` (the registration
   * goes, the endpoint stays as it is), then with the new instance type and `true` again.
   * @default true
   */
  readonly autoScaling?: boolean;
}

export interface ServerlessCapacity {
  /** Memory of the serverless endpoint, in MB (1024 to 6144, in steps of 1024). */
  readonly memorySizeMb: number;
  /** Most concurrent invocations. */
  readonly maxConcurrency: number;
}

export interface SageMakerModelEndpointProps {
  /** The model server image (built from `container/`). */
  readonly image: DockerImageAsset;
  /**
   * The model's registry prefix (`models/<name>/`): the container loads a registered version a request
   * names from there while it runs (docs/retraining.md), so the role reads that prefix.
   * @default - no registry: the role reads the two package keys only
   */
  readonly registry?: string;
  /** The bucket holding the model package. */
  readonly bucket: s3.IBucket;
  /** Key of `model.tar.gz` in the bucket. */
  readonly modelKey: string;
  /**
   * What puts the package in the bucket (ModelPackage.deployment): the model is created after it.
   * @default - nothing to wait for: the package is already in the bucket
   */
  readonly modelUpload?: IDependable;
  /**
   * A second version the container hosts beside the model (docs/versions.md), downloaded from the bucket
   * at start, as on Fargate (a SageMaker model has one ModelDataUrl).
   * @default - none
   */
  readonly challenger?: ChallengerPackageRef;
  /**
   * Real-time instances. Exactly one of `realtime` and `serverless`.
   * @default - none: `serverless` must be given
   */
  readonly realtime?: RealtimeCapacity;
  /**
   * A serverless endpoint. Exactly one of `realtime` and `serverless`.
   * @default - none: `realtime` must be given
   */
  readonly serverless?: ServerlessCapacity;
  /** Retention of the endpoint's log group (`/aws/sagemaker/Endpoints/<name>`). @default logs.RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
}

export class SageMakerModelEndpoint extends Construct implements ModelBackend {
  public readonly backend: 'sagemaker' | 'sagemaker-serverless';
  /** The execution role: image pull, the model package, the endpoint's logs and metrics. */
  public readonly role: iam.Role;
  /** The SageMaker model (image + package). */
  public readonly model: sagemaker.CfnModel;
  /** The endpoint config (a new one with each model version). */
  public readonly endpointConfig: sagemaker.CfnEndpointConfig;
  /** The endpoint, updated blue/green. */
  public readonly endpoint: sagemaker.CfnEndpoint;
  /** The endpoint's fixed name. */
  public readonly endpointName: string;
  /**
   * A serverless endpoint serving the same model, updated before the serving endpoint: the rollout check
   * runs against it, so a model that fails the check never receives traffic.
   */
  public readonly checkEndpoint: sagemaker.CfnEndpoint;
  /** The check endpoint's config (a new one with each model version). */
  public readonly checkEndpointConfig: sagemaker.CfnEndpointConfig;
  /** The check endpoint's fixed name. */
  public readonly checkEndpointName: string;
  /** The endpoint's container logs, made before the endpoint so that SageMaker does not make them without an expiry. */
  public readonly endpointLogs: logs.LogGroup;
  /** The production variant that serves all traffic (the dimension of its CloudWatch metrics). */
  public readonly variantName = VARIANT;
  /** ARN of the endpoint (what `InvokeEndpoint` is granted on). */
  public readonly endpointArn: string;
  public readonly clientEnvironment: Partial<Record<typeof ENV.SAGEMAKER_ENDPOINT, string>>;
  /** Instance count scaling (real-time only). */
  public readonly scalableTarget?: appscaling.ScalableTarget;
  /** Alarms that roll an endpoint update back (invocation 5xx, p99 model latency). */
  public readonly deploymentAlarms: cloudwatch.Alarm[];
  public readonly monitored: MonitoredBackend;
  /** The check calls the endpoint through the SageMaker API: no VPC, no test address. */
  public readonly rolloutCheckPlacement: RolloutCheckPlacement = {};

  constructor(scope: Construct, id: string, props: SageMakerModelEndpointProps) {
    super(scope, id);
    const { realtime, serverless } = props;
    if ((realtime === undefined) === (serverless === undefined)) {
      throw new Error('Specify either `realtime` or `serverless` capacity for the SageMaker endpoint, not both or neither.');
    }
    this.backend = props.serverless ? 'sagemaker-serverless' : 'sagemaker';
    const stack = Stack.of(this);

    this.role = new iam.Role(this, 'ExecutionRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: 'mlship SageMaker model: pull the image, read the model package, write logs and metrics',
    });
    props.image.repository.grantPull(this.role);
    if (props.registry !== undefined) {
      // The packages the endpoint starts with are under the same prefix.
      const registry = props.bucket.arnForObjects(`${props.registry}*`);
      grantActions(this.role, DATA_BUCKET_ACTIONS.get, [registry]);
      acknowledgeWildcardResource(
        this,
        registry,
        "The container loads registered versions of this model (models/<name>/<version>/) while it runs; only this model's prefix.",
      );
    } else
      grantActions(this.role, DATA_BUCKET_ACTIONS.get, [
        props.bucket.arnForObjects(props.modelKey),
        ...(props.challenger ? [props.bucket.arnForObjects(props.challenger.key)] : []),
      ]);
    const endpointLogs = Arn.format(
      { service: 'logs', resource: 'log-group', resourceName: '/aws/sagemaker/Endpoints/*', arnFormat: ArnFormat.COLON_RESOURCE_NAME },
      stack,
    );
    grantActions(this.role, SAGEMAKER_ENDPOINT_LOG_ACTIONS, [endpointLogs]);
    grantActions(this.role, PUT_METRIC_DATA_ACTIONS, ['*'], { StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/Endpoints' } });

    this.model = new sagemaker.CfnModel(this, 'Model', {
      executionRoleArn: this.role.roleArn,
      primaryContainer: {
        image: props.image.imageUri,
        modelDataUrl: props.bucket.s3UrlForObject(props.modelKey),
        environment: {
          [ENV.MODEL_DIR]: '/opt/ml/model',
          // The container fetches the challenger and registered versions itself, from the bucket's region.
          ...(props.challenger ? { [ENV.CHALLENGER_MODEL_S3_URI]: props.bucket.s3UrlForObject(props.challenger.key) } : {}),
          ...(props.registry !== undefined ? { [ENV.MODEL_REGISTRY_S3_URI]: props.bucket.s3UrlForObject(props.registry) } : {}),
          ...(props.challenger || props.registry !== undefined ? { AWS_REGION: stack.region } : {}),
        },
      },
    });
    // The role's policy must exist before SageMaker checks it can pull the image.
    this.model.node.addDependency(this.role);
    if (props.modelUpload) this.model.node.addDependency(props.modelUpload);
    if (props.challenger?.upload) this.model.node.addDependency(props.challenger.upload);

    this.endpointConfig = new sagemaker.CfnEndpointConfig(this, 'EndpointConfig', {
      productionVariants: [
        realtime
          ? {
              variantName: VARIANT,
              modelName: this.model.attrModelName,
              initialVariantWeight: 1,
              instanceType: realtime.instanceType,
              initialInstanceCount: realtime.initialInstanceCount,
            }
          : {
              variantName: VARIANT,
              modelName: this.model.attrModelName,
              initialVariantWeight: 1,
              serverlessConfig: serverless && { memorySizeInMb: serverless.memorySizeMb, maxConcurrency: serverless.maxConcurrency },
            },
      ],
    });
    // A fixed name, because the rollback alarms must name the endpoint before it exists (the endpoint
    // names the alarms in its DeploymentConfig, so a generated name would be a dependency cycle).
    this.endpointName = `${stack.stackName}-model`.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 63);
    this.deploymentAlarms = sageMakerDeploymentAlarms(this, {
      endpointName: this.endpointName,
      variantName: VARIANT,
      maxModelLatency: ROLLOUT.maxModelLatency,
    });
    this.endpointLogs = endpointLogGroup(this, 'EndpointLogs', this.endpointName, props.logRetention);
    this.endpoint = new sagemaker.CfnEndpoint(this, 'Endpoint', {
      endpointName: this.endpointName,
      endpointConfigName: this.endpointConfig.attrEndpointConfigName,
      // Blue/green updates: SageMaker starts the new fleet beside the old one, shifts traffic, watches the
      // alarms until the old fleet is terminated, and shifts back if one fires. Real-time endpoints of two
      // or more instances take a canary first. One instance has no canary: 25 % of it rounds up to the
      // whole fleet, so it shifts all at once with the same bake time. Serverless endpoints support
      // blue/green only with all-at-once shifting (canary and linear shifting size the new fleet in
      // instances, which serverless endpoints have none of; rolling updates exclude serverless), so they
      // get the alarms and the bake time without the canary.
      deploymentConfig: {
        blueGreenUpdatePolicy: {
          trafficRoutingConfiguration:
            realtime && fewestInstances(realtime) >= ROLLOUT.canaryMinInstances
              ? {
                  type: 'CANARY',
                  canarySize: { type: 'CAPACITY_PERCENT', value: ROLLOUT.canaryPercent },
                  waitIntervalInSeconds: ROLLOUT.canaryWait.toSeconds(),
                }
              : // The API requires WaitIntervalInSeconds for every type, ALL_AT_ONCE included, although
                // CloudFormation's schema marks it optional (a ValidationException at deploy without it).
                { type: 'ALL_AT_ONCE', waitIntervalInSeconds: ROLLOUT.canaryWait.toSeconds() },
          terminationWaitInSeconds: ROLLOUT.terminationWait.toSeconds(),
          maximumExecutionTimeoutInSeconds: ROLLOUT.maximumExecutionTimeout.toSeconds(),
        },
        autoRollbackConfiguration: { alarms: this.deploymentAlarms.map((a) => ({ alarmName: a.alarmName })) },
      },
      // A model rollout keeps the instance count the scaler reached (and the variant weight) instead of
      // resetting the endpoint to initialInstanceCount. The instance type is not a retained property: it
      // always comes from the new endpoint config.
      ...(props.realtime ? { retainAllVariantProperties: true } : {}),
    });
    this.endpoint.node.addDependency(this.endpointLogs);

    // SageMaker's deployment guardrails watch alarms only after traffic has moved; they have no hook that
    // runs before it (unlike ECS's lifecycle hooks). So the new model is first served by a second,
    // serverless endpoint that CloudFormation updates before the serving endpoint, and the rollout check
    // (checkRolloutsWith) runs against it in between: a failed check fails the stack update before the
    // serving endpoint changes. Serverless: it costs nothing while idle and needs no instance quota.
    this.checkEndpointName = `${this.endpointName.slice(0, 57)}-check`;
    this.checkEndpointConfig = new sagemaker.CfnEndpointConfig(this, 'CheckEndpointConfig', {
      productionVariants: [
        {
          variantName: VARIANT,
          modelName: this.model.attrModelName,
          initialVariantWeight: 1,
          serverlessConfig: {
            memorySizeInMb: serverless?.memorySizeMb ?? CHECK_ENDPOINT.memorySizeMb,
            maxConcurrency: CHECK_ENDPOINT.maxConcurrency,
          },
        },
      ],
    });
    const checkLogs = endpointLogGroup(this, 'CheckEndpointLogs', this.checkEndpointName, props.logRetention);
    this.checkEndpoint = new sagemaker.CfnEndpoint(this, 'CheckEndpoint', {
      endpointName: this.checkEndpointName,
      endpointConfigName: this.checkEndpointConfig.attrEndpointConfigName,
    });
    this.checkEndpoint.node.addDependency(checkLogs);
    // `Ref` of AWS::SageMaker::Endpoint is its ARN.
    this.endpointArn = this.endpoint.ref;
    this.clientEnvironment = { [ENV.SAGEMAKER_ENDPOINT]: this.endpointName };
    this.monitored = { kind: this.backend, endpointName: this.endpointName, variantName: VARIANT };

    if (props.realtime && (props.realtime.autoScaling ?? true)) {
      this.scalableTarget = new appscaling.ScalableTarget(this, 'Scaling', {
        serviceNamespace: appscaling.ServiceNamespace.SAGEMAKER,
        resourceId: `endpoint/${this.endpointName}/variant/${VARIANT}`,
        scalableDimension: 'sagemaker:variant:DesiredInstanceCount',
        minCapacity: props.realtime.minCapacity,
        maxCapacity: props.realtime.maxCapacity,
      });
      this.scalableTarget.node.addDependency(this.endpoint);
      this.scalableTarget.scaleToTrackMetric('InvocationsPerInstance', {
        predefinedMetric: appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
        // Invocations per instance per minute; the small models this kit serves take ~1 ms each.
        targetValue: 1000,
      });
    }

    Validations.of(this).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'ecr:GetAuthorizationToken cannot be scoped to a resource, and cloudwatch:PutMetricData is limited by a namespace condition instead.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/Endpoints/*]',
        reason:
          "SageMaker writes to /aws/sagemaker/Endpoints/<endpoint name>; the name is generated after the role must exist, so the grant covers SageMaker's endpoint log groups only.",
      },
      {
        id: 'AwsSolutions-SM1',
        reason:
          'The endpoint needs no VPC: it reads only its model package from S3 and is called through the SageMaker API (serverless endpoints cannot run in a VPC).',
      },
      {
        id: 'AwsSolutions-SM2',
        reason: 'The endpoint storage uses the AWS-managed key; serverless endpoints do not accept a KMS key and the model is not secret.',
      },
    );
  }

  /**
   * Runs `check` on every new model version (a custom resource) against the check endpoint, after it is
   * updated and before the serving endpoint is: a failed check fails the stack update before any traffic moves.
   */
  public checkRolloutsWith(check: RolloutCheck, model: string): void {
    const checkArn = this.checkEndpoint.ref;
    const verdict = check.checkSageMakerEndpoint(
      {
        endpointName: this.checkEndpointName,
        endpointConfig: this.checkEndpointConfig,
        endpoint: this.checkEndpoint,
        grantInvoke: (grantee) => grantActions(grantee, ENDPOINT_INVOKE_ACTIONS, [checkArn]),
      },
      model,
    );
    this.endpoint.node.addDependency(verdict);
  }

  /**
   * The model as a Batch Transform job runs it, with the model's role, on `instanceType` instances (Batch
   * Transform always runs on instances, also for a serverless endpoint's model).
   */
  public batchModel(instanceType: string): SageMakerBatchModel {
    return { modelName: this.model.attrModelName, modelRole: this.role, instanceType };
  }

  /** Lets `grantee` call this endpoint (InvokeEndpoint on its ARN), and nothing else. */
  public grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return grantActions(grantee, ENDPOINT_INVOKE_ACTIONS, [this.endpointArn]);
  }
}

/** The fewest instances the endpoint can run: the scaler's minimum, or the fixed count without scaling. */
function fewestInstances(realtime: RealtimeCapacity): number {
  return (realtime.autoScaling ?? true) ? realtime.minCapacity : realtime.initialInstanceCount;
}

/**
 * The log group SageMaker writes an endpoint's container logs to, made first so that it expires. Deleted
 * with the stack: the name is fixed, and a retained group would make the next create of this stack fail
 * on it. The retention bounds what is kept meanwhile.
 */
function endpointLogGroup(scope: Construct, id: string, endpointName: string, retention?: logs.RetentionDays): logs.LogGroup {
  return new logs.LogGroup(scope, id, {
    logGroupName: `/aws/sagemaker/Endpoints/${endpointName}`,
    retention: retention ?? logs.RetentionDays.THREE_MONTHS,
    removalPolicy: RemovalPolicy.DESTROY,
  });
}
