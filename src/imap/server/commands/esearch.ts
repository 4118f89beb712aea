/**
 * Pieces of the ESEARCH response (RFC 4731 §3.1, RFC 9051 §7.3.4) shared by SEARCH and ESORT
 * (RFC 5267 §3), including the RFC 9394 PARTIAL result item.
 */
import type { PartialRange, SearchReturnOpt } from "../../protocol/commands.ts";
import { partialRangeString, partialSlice } from "../../protocol/parse/partial.ts";
import { uidSetString } from "../selected-mailbox.ts";

/** a command tag as a quoted string (search-correlator, RFC 4466 §2.6.2; NOUPDATE, RFC 5267 §4.3.1) */
export function quotedTag(tag: string): string {
  return `"${tag.replace(/["\\]/g, "\\$&")}"`;
}

/** `* ESEARCH (TAG "x")` plus ` UID` for the UID form */
export function esearchHead(tag: string, uid: boolean): string {
  return `* ESEARCH (TAG ${quotedTag(tag)})${uid ? " UID" : ""}`;
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

/**
 * The RETURN options in effect: RETURN () or none means ALL (RFC 4731 §3.1, RFC 9051 §6.4.4). So
 * does a list of only CONTEXT and/or UPDATE (RFC 5267 §4.2, §4.3), which ask for no result data
 * themselves: a live context starts from the full result, which its ADDTO/REMOVEFROM then change.
 */
export function returnOptions(
  opts: readonly SearchReturnOpt[] | undefined,
  partial: unknown,
): SearchReturnOpt[] {
  const o = opts ? [...opts] : [];
  if (!partial && !o.some((x) => x !== "CONTEXT" && x !== "UPDATE")) o.push("ALL");
  return o;
}

/** whether any result data is asked for: MIN, MAX, ALL, COUNT or PARTIAL (not SAVE, CONTEXT, UPDATE) */
export function returnsData(opts: readonly SearchReturnOpt[], partial: unknown): boolean {
  return (
    !!partial ||
    opts.includes("MIN") ||
    opts.includes("MAX") ||
    opts.includes("ALL") ||
    opts.includes("COUNT")
  );
}

/** MIN and/or MAX without ALL or COUNT (RFC 5182 §2.1, RFC 7162 §3.1.5 single-message rules). */
export function onlyMinMax(opts: readonly SearchReturnOpt[]): boolean {
  return !opts.includes("ALL") && !opts.includes("COUNT") && (opts.includes("MIN") || opts.includes("MAX"));
}

/**
 * What SAVE keeps of `results` (RFC 5182 §2.1: with MIN/MAX only, just those), as a set in
 * ascending order. RFC 9394 §3.2 with PARTIAL: with COUNT, every match; otherwise the page plus the
 * MIN and/or MAX message when those are requested. `ascending`: results are already in uid order
 * (SEARCH), so the whole list is kept as it is.
 */
export function savedResult(
  opts: readonly SearchReturnOpt[],
  partial: PartialRange | undefined,
  results: readonly number[],
  ascending: boolean,
): number[] {
  let keep: number[];
  if (partial && opts.includes("COUNT")) return ascending ? [...results] : sortedSet(results);
  if (partial) keep = partialSlice(results, partial);
  else if (onlyMinMax(opts)) keep = [];
  else return ascending ? (results as number[]) : sortedSet(results);
  if (results.length > 0) {
    if (opts.includes("MIN")) keep.push(results[0]!);
    if (opts.includes("MAX")) keep.push(results[results.length - 1]!);
  }
  return sortedSet(keep);
}

function sortedSet(nums: readonly number[]): number[] {
  return [...new Set(nums)].sort((a, b) => a - b);
}

/**
 * The MIN, MAX, COUNT, ALL and PARTIAL items over `nums` in result order (mailbox order for
 * SEARCH, sort order for ESORT: RFC 5267 §3.1). The ALL set keeps that order (consecutive
 * ascending runs are joined, nothing is reordered).
 */
export function esearchItems(
  opts: readonly SearchReturnOpt[],
  partial: PartialRange | undefined,
  nums: number[],
): string {
  let line = "";
  if (nums.length > 0) {
    if (opts.includes("MIN")) line += ` MIN ${nums[0]}`;
    if (opts.includes("MAX")) line += ` MAX ${nums[nums.length - 1]}`;
  }
  if (opts.includes("COUNT")) line += ` COUNT ${nums.length}`;
  if (opts.includes("ALL") && nums.length > 0) line += ` ALL ${uidSetString(nums)}`;
  if (partial) line += partialItem(partial, nums);
  return line;
}
