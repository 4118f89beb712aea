/**
 * Pieces of the ESEARCH response (RFC 4731 §3.1, RFC 9051 §7.3.4) shared by SEARCH and ESORT
 * (RFC 5267 §3), including the RFC 9394 PARTIAL result item.
 */
import type { PartialRange } from "../../protocol/commands.ts";
import { partialRangeString, partialSlice } from "../../protocol/parse/partial.ts";
import { uidSetString } from "../selected-mailbox.ts";

/** `* ESEARCH (TAG "x")` plus ` UID` for the UID form */
export function esearchHead(tag: string, uid: boolean): string {
  return `* ESEARCH (TAG "${tag.replace(/["\\]/g, "\\$&")}")${uid ? " UID" : ""}`;
}

/**
 * ` PARTIAL (range set)` over `nums` in result order (RFC 9394 §3.1). The set keeps that order
 * (runs of consecutive ascending numbers are joined), so for ESORT it is in sort order; when no
 * result falls in the range the set is NIL.
 */
export function partialItem(r: PartialRange, nums: readonly number[]): string {
  const part = partialSlice(nums, r);
  return ` PARTIAL (${partialRangeString(r)} ${part.length > 0 ? uidSetString(part) : "NIL"})`;
}
