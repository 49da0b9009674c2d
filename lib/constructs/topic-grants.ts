/**
 * Publishing to an SNS topic encrypted with a customer key (the alarm topic is): SNS asks KMS for the
 * message's data key with the publisher's credentials, so every publisher needs the key too.
 */
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { grantActions } from './grant-actions';
import { PUBLISH_ENCRYPTED_TOPIC_KEY_ACTIONS, TOPIC_PUBLISH_ACTIONS } from './perms';

/** The key's data-key calls for a publisher of `topic`, when it has a key; for one whose Publish is granted elsewhere. */
export function grantTopicKeyToPublisher(grantee: iam.IGrantable, topic: sns.ITopic): void {
  if (topic.masterKey !== undefined) grantActions(grantee, PUBLISH_ENCRYPTED_TOPIC_KEY_ACTIONS, [topic.masterKey.keyArn]);
}

/** Publish to `topic` only, with its key's data-key calls when it is encrypted. */
export function grantTopicPublish(grantee: iam.IGrantable, topic: sns.ITopic): void {
  grantActions(grantee, TOPIC_PUBLISH_ACTIONS, [topic.topicArn]);
  grantTopicKeyToPublisher(grantee, topic);
}
