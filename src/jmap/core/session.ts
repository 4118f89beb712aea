/** The JMAP Session resource (RFC 8620 §2) at /.well-known/jmap. */
import type { Account } from "../../store/types.ts";
import { EMAIL_SORT_PROPERTIES } from "../mail/email-query.ts";
import { submissionExtensions } from "../submission/settings.ts";
import { sessionState } from "./api.ts";
import {
  ACCOUNT,
  CORE,
  type JmapLimits,
  type JmapSubmission,
  type JsonObject,
  jmapAccountId,
  MAIL,
  SUBMISSION,
  VACATION,
} from "./types.ts";

export function sessionObject(
  account: Account,
  limits: JmapLimits,
  origin: string,
  submission?: JmapSubmission,
  accountCapability = false,
): JsonObject {
  const id = jmapAccountId(account);
  // RFC 8621 §1.3.2: no send delay (undoStatus is always final); the submission server's EHLO
  // keywords with their arguments
  const submissionCap: JsonObject = submission
    ? {
        [SUBMISSION]: {
          maxDelayedSend: 0,
          submissionExtensions: Object.fromEntries(
            Object.entries(
              submission.ehloKeywords ?? submissionExtensions(submission.limits.maxMessageSize),
            ).map(([k, v]) => [k, [...v]]),
          ),
        },
      }
    : {};
  return {
    capabilities: {
      [CORE]: {
        maxSizeUpload: limits.max_size_upload,
        maxConcurrentUpload: limits.max_concurrent_upload,
        maxSizeRequest: limits.max_size_request,
        maxConcurrentRequests: limits.max_concurrent_requests,
        maxCallsInRequest: limits.max_calls_in_request,
        maxObjectsInGet: limits.max_objects_in_get,
        maxObjectsInSet: limits.max_objects_in_set,
        collationAlgorithms: ["i;ascii-casemap", "i;octet"],
      },
      [MAIL]: {},
      ...(submission ? { [SUBMISSION]: {} } : {}),
      [VACATION]: {},
      // the vendor capability (src/jmap/account): no server-level properties
      ...(accountCapability ? { [ACCOUNT]: {} } : {}),
    },
    accounts: {
      [id]: {
        name: account.address,
        isPersonal: true,
        isReadOnly: false,
        accountCapabilities: {
          [CORE]: {},
          // RFC 8621 §1.3.1
          [MAIL]: {
            maxMailboxesPerEmail: null,
            maxMailboxDepth: null,
            maxSizeMailboxName: 1000,
            maxSizeAttachmentsPerEmail: limits.max_size_upload,
            emailQuerySortOptions: [...EMAIL_SORT_PROPERTIES],
            mayCreateTopLevelMailbox: true,
          },
          ...submissionCap,
          // RFC 8621 §1.3.3: no account-level properties
          [VACATION]: {},
          ...(accountCapability ? { [ACCOUNT]: {} } : {}),
        },
      },
    },
    primaryAccounts: {
      [CORE]: id,
      [MAIL]: id,
      [VACATION]: id,
      ...(submission ? { [SUBMISSION]: id } : {}),
      ...(accountCapability ? { [ACCOUNT]: id } : {}),
    },
    username: account.address,
    apiUrl: `${origin}/jmap/api`,
    downloadUrl: `${origin}/jmap/download/{accountId}/{blobId}/{name}?accept={type}`,
    uploadUrl: `${origin}/jmap/upload/{accountId}/`,
    eventSourceUrl: `${origin}/jmap/eventsource?types={types}&closeafter={closeafter}&ping={ping}`,
    state: sessionState(account),
  };
}
