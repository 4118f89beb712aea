/**
 * SORT and UID SORT (RFC 5256 §3, SORT=DISPLAY RFC 5957). The search program runs through the
 * shared search evaluator; sort keys come from message metadata (ARRIVAL, SIZE) or from the
 * MIME helpers' sortKeys() (DATE, SUBJECT, FROM, TO, CC, DISPLAYFROM, DISPLAYTO). With RETURN
 * options the answer is an ESEARCH response (ESORT, RFC 5267 §3) — MIN/MAX/COUNT/ALL and the RFC 9394
 * PARTIAL item, all in sort order. CONTEXT=SORT (RFC 5267 §4): RETURN (UPDATE) keeps the sorted
 * result live (../search-context.ts). THREAD is in thread.ts.
 */
import { compareOctets, sortKeys } from "../../../mime/index.ts";
import type { SortKeys } from "../../../mime/types.ts";
import type { MessageMeta } from "../../../store/types.ts";
import type { SortCommand, SortKeyName } from "../../protocol/commands.ts";
import type { OkResult } from "../dispatch.ts";
import type { SelectedState, Session } from "../session.ts";
import { checkUpdateTag, openContext } from "./context.ts";
import { esearchHead, esearchItems, returnOptions, returnsData, savedResult } from "./esearch.ts";
import { runSearch } from "./search.ts";

const CHUNK = 500;
const META_ONLY: ReadonlySet<SortKeyName> = new Set(["ARRIVAL", "SIZE"]);
const FROM_INPUTS: ReadonlySet<SortKeyName> = new Set(["SUBJECT", "DATE"]);
const NO_KEYS: SortKeys = {
  subject: "",
  from: "",
  to: "",
  cc: "",
  date: null,
  displayFrom: "",
  displayTo: "",
};

export async function sort(s: Session, tag: string, cmd: SortCommand, st: SelectedState): Promise<OkResult> {
  const v = st.view;
  checkUpdateTag(s, tag, cmd.returnOpts); // RFC 5267 §4.3
  const save = cmd.returnOpts?.includes("SAVE") ?? false;
  if (save) v.savedSearch = []; // RFC 5182 §2.1: a failed command leaves $ empty
  const { uids, modseq } = await sortMatches(s, cmd);
  // RFC 5267 §4.3 CONTEXT=SORT: RETURN (UPDATE) keeps the sorted result live
  await openContext(s, tag, cmd.returnOpts, { uid: cmd.uid, sort: true }, uids, async () => {
    return (await sortMatches(s, cmd)).uids;
  });
  const nums = cmd.uid ? uids : uids.map((u) => v.seqOf(u));
  if (cmd.returnOpts === null) {
    await s.write(`* SORT${nums.map((n) => " " + n).join("")}\r\n`);
    return { code: null, text: "SORT completed" };
  }
  return esort(s, tag, cmd, st, uids, nums, modseq);
}

/** The matches of the SORT's search program, as UIDs in sort order (RFC 5256 §3). */
export async function sortMatches(
  s: Session,
  cmd: SortCommand,
): Promise<{ uids: number[]; modseq: bigint | null }> {
  const v = s.selected.view;
  const { matched, modseq } = await runSearch(s, cmd.search, cmd.charset);
  const needKeys = cmd.criteria.some((c) => !META_ONLY.has(c.key));
  // SUBJECT and DATE are among the store's per-message THREAD inputs (one query for the mailbox)
  const fromInputs = needKeys && cmd.criteria.every((c) => META_ONLY.has(c.key) || FROM_INPUTS.has(c.key));
  const metas = new Map<number, MessageMeta>();
  const keys = new Map<number, SortKeys>();
  if (fromInputs) {
    const inp = await s.store.threadInputs(v.mailboxId);
    for (let i = 0; i < inp.uid.length; i++) {
      // date: the sent date, already with the internal date standing in (RFC 5256 §2.2)
      keys.set(inp.uid[i]!, { ...NO_KEYS, subject: inp.subject[i]!, date: inp.date[i]! });
    }
  }
  // metadata only for ARRIVAL/SIZE, or for the parse of the other keys
  const needMeta = !fromInputs || cmd.criteria.some((c) => META_ONLY.has(c.key));
  for (let i = 0; needMeta && i < matched.length; i += CHUNK) {
    for (const m of await s.store.getMessages(v.mailboxId, matched.slice(i, i + CHUNK))) {
      metas.set(m.uid, m);
      // the keys come from the parsed index (envelope) alone: no need to read the message
      if (needKeys && !fromInputs) {
        keys.set(m.uid, sortKeys(new Uint8Array(0), await s.store.getParsed(m.blobId)));
      }
    }
  }
  // a message stored after the inputs were read (not in the view yet) or expunged meanwhile
  const uids = matched.filter((u) => (!needMeta || metas.has(u)) && (!fromInputs || keys.has(u)));
  // RFC 5256 §3: string keys compare with i;ascii-casemap (RFC 4790 §9.2): sortKeys() gives them
  // upper-cased (a–z only), and they compare octet by octet
  const str = compareOctets;
  const cmp = (a: number, b: number): number => {
    const ma = metas.get(a)!;
    const mb = metas.get(b)!;
    const ka = keys.get(a);
    const kb = keys.get(b);
    for (const c of cmd.criteria) {
      let r = 0;
      switch (c.key) {
        case "ARRIVAL":
          r = ma.internalDate.getTime() - mb.internalDate.getTime();
          break;
        case "SIZE":
          r = ma.size - mb.size;
          break;
        case "DATE":
          // (from the THREAD inputs the date is never null: no metadata needed then)
          // RFC 5256 §3: a missing or invalid Date header sorts by the internal date
          r = (ka!.date ?? ma.internalDate.getTime()) - (kb!.date ?? mb.internalDate.getTime());
          break;
        case "SUBJECT":
          r = str(ka!.subject, kb!.subject);
          break;
        case "FROM":
          r = str(ka!.from, kb!.from);
          break;
        case "TO":
          r = str(ka!.to, kb!.to);
          break;
        case "CC":
          r = str(ka!.cc, kb!.cc);
          break;
        case "DISPLAYFROM":
          r = str(ka!.displayFrom, kb!.displayFrom);
          break;
        case "DISPLAYTO":
          r = str(ka!.displayTo, kb!.displayTo);
          break;
      }
      if (r !== 0) return c.reverse ? -r : r;
    }
    // RFC 5256 §3: exact ties keep mailbox order (sequence number, i.e. uid order)
    return a - b;
  };
  uids.sort(cmp);
  return { uids, modseq };
}

/**
 * RFC 5267 §3: SORT with RETURN answers with ESEARCH. MIN and MAX are the first and last message in
 * sort order (§3.1), ALL lists every match in sort order; RETURN () means ALL (as RFC 4731 §3.1).
 */
async function esort(
  s: Session,
  tag: string,
  cmd: SortCommand,
  st: SelectedState,
  uids: number[],
  nums: number[],
  modseq: bigint | null,
): Promise<OkResult> {
  const opts = returnOptions(cmd.returnOpts ?? undefined, cmd.partial);
  if (opts.includes("SAVE")) {
    // RFC 5182 §2.1 / RFC 9394 §3.1: SAVE keeps what is returned (MIN/MAX only, or the page);
    // $ is a set, so it is kept in mailbox (uid) order
    st.view.savedSearch = savedResult(opts, cmd.partial, uids, false);
    if (!returnsData(opts, cmd.partial)) return { code: null, text: "SORT completed (saved)" };
  }
  // sort order throughout (RFC 5267 §3.1)
  let line = esearchHead(tag, cmd.uid) + esearchItems(opts, cmd.partial, nums);
  // RFC 7162 §3.1.5: a MODSEQ search key adds the highest mod-sequence of the matches
  if (modseq !== null) line += ` MODSEQ ${modseq}`;
  await s.write(line + "\r\n");
  return { code: null, text: "SORT completed" };
}
