/**
 * RFC 5256 §3 threading algorithms, pure: ORDEREDSUBJECT and REFERENCES over plain message
 * records, REFS (REFERENCES without subject gathering, threads ordered by their newest message;
 * draft-ietf-morg-inthread §4, the form Dovecot implements), and the §4 thread-list serializer. Every walk is iterative (explicit stacks), so a
 * reference chain thousands deep cannot overflow the call stack; parent links are only made when
 * they cannot close a loop, so the walks up the parent chain always end.
 */

export interface ThreadMessage {
  /** the number written out (uid or sequence number); also the final tie-break (mailbox order) */
  id: number;
  /** RFC 5256 §2.2 sent date, ms (Date header, else the internal date) */
  date: number;
  /** RFC 5256 §2.1 base subject, i;ascii-casemap form */
  subject: string;
  /** RFC 5256 §2.1: the subject had a reply/forward marker removed */
  reply: boolean;
  /** the Message-ID's msg-id (`<…>`), null when absent or invalid */
  messageId: string | null;
  /** References msg-ids, oldest first; or, without them, the first msg-id of In-Reply-To */
  references: string[];
}

/** A thread tree node; `msg` null is a dummy (only at the root level of REFERENCES results). */
export interface ThreadNode {
  msg: ThreadMessage | null;
  children: ThreadNode[];
}

// ---------------------------------------------------------------------------------------------
// ORDEREDSUBJECT (RFC 5256 §3)

function byDate(a: ThreadMessage, b: ThreadMessage): number {
  // ties: mailbox order (RFC 5256 §3 SORT rule, which THREAD's "sorted by sent date" follows)
  return a.date - b.date || a.id - b.id;
}

/**
 * RFC 5256 §3 ORDEREDSUBJECT: messages grouped by base subject, each group sorted by sent date;
 * the first message is the root, all others its children; threads ordered by their root's date.
 */
export function orderedSubject(msgs: readonly ThreadMessage[]): ThreadNode[] {
  const groups = new Map<string, ThreadMessage[]>();
  for (const m of msgs) {
    const g = groups.get(m.subject);
    if (g) g.push(m);
    else groups.set(m.subject, [m]);
  }
  const roots: ThreadNode[] = [];
  for (const g of groups.values()) {
    g.sort(byDate);
    roots.push({ msg: g[0]!, children: g.slice(1).map((m) => ({ msg: m, children: [] })) });
  }
  roots.sort((a, b) => byDate(a.msg!, b.msg!));
  return roots;
}

// ---------------------------------------------------------------------------------------------
// REFERENCES (RFC 5256 §3)

interface Container {
  msg: ThreadMessage | null;
  parent: Container | null;
  /** insertion-ordered, so removal (step 1.B) is O(1) */
  children: Set<Container>;
}

function container(msg: ThreadMessage | null = null): Container {
  return { msg, parent: null, children: new Set() };
}

/** true when making `parent` the parent of `child` would close a loop (child is parent or above it) */
function wouldLoop(parent: Container, child: Container): boolean {
  // a childless container is nobody's ancestor: only a self-link would loop (keeps a chain
  // arriving in order linear instead of quadratic)
  if (child.children.size === 0) return parent === child;
  for (let p: Container | null = parent; p !== null; p = p.parent) if (p === child) return true;
  return false;
}

function unlink(c: Container): void {
  if (c.parent) c.parent.children.delete(c);
  c.parent = null;
}

function link(parent: Container, child: Container): void {
  child.parent = parent;
  parent.children.add(child);
}

/** the message a node sorts and is named by: its own, or (dummy) its first child's */
function nodeMsg(n: ThreadNode): ThreadMessage | null {
  return n.msg ?? n.children[0]?.msg ?? null;
}

function compareNodes(a: ThreadNode, b: ThreadNode): number {
  const ma = nodeMsg(a);
  const mb = nodeMsg(b);
  if (!ma || !mb) return ma ? -1 : mb ? 1 : 0;
  return byDate(ma, mb);
}

/** RFC 5256 §3 REFERENCES, steps 1–6. */
export function referencesThreads(msgs: readonly ThreadMessage[]): ThreadNode[] {
  const top = gatherSubjects(linkThreads(msgs));
  sortSiblings(top);
  top.sort(compareNodes);
  return top;
}

/**
 * THREAD=REFS (draft-ietf-morg-inthread §4): the threads of REFERENCES steps 1–4 (References,
 * else the first msg-id of In-Reply-To), without step 5's subject gathering — unrelated messages
 * that share a subject stay apart — siblings sorted by sent date as in step 6, and the threads
 * ordered by the sent date of their newest message, so the thread with the latest activity comes
 * last (ties: that newest message's mailbox order).
 */
export function refsThreads(msgs: readonly ThreadMessage[]): ThreadNode[] {
  const top = linkThreads(msgs);
  sortSiblings(top);
  const newest = new Map<ThreadNode, ThreadMessage | null>();
  for (const root of top) {
    let best: ThreadMessage | null = null;
    const stack: ThreadNode[] = [root];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (n.msg !== null && (best === null || byDate(best, n.msg) < 0)) best = n.msg;
      for (const k of n.children) stack.push(k);
    }
    newest.set(root, best);
  }
  top.sort((a, b) => {
    const ma = newest.get(a) ?? null;
    const mb = newest.get(b) ?? null;
    if (!ma || !mb) return ma ? -1 : mb ? 1 : 0;
    return byDate(ma, mb);
  });
  return top;
}

/** REFERENCES steps 1–4: the root set after linking by references and pruning dummies. */
function linkThreads(msgs: readonly ThreadMessage[]): ThreadNode[] {
  // (1) link messages by their references
  const table = new Map<string, Container>();
  const all: Container[] = [];
  const byId = (id: string): Container => {
    let c = table.get(id);
    if (!c) {
      c = container();
      table.set(id, c);
      all.push(c);
    }
    return c;
  };
  for (const m of msgs) {
    // (1.A) a message without a Message-ID, or with a duplicate one, gets a unique container
    let own: Container;
    const known = m.messageId === null ? undefined : table.get(m.messageId);
    if (m.messageId !== null && known === undefined) {
      own = byId(m.messageId);
      own.msg = m;
    } else if (known !== undefined && known.msg === null) {
      own = known;
      own.msg = m;
    } else {
      own = container(m);
      all.push(own);
    }
    // (1.A) link each reference to the next one: only where the child has no parent yet (existing
    // links stay) and the link cannot introduce a loop
    let prev: Container | null = null;
    for (const ref of m.references) {
      const c = byId(ref);
      if (prev !== null && c.parent === null && !wouldLoop(prev, c)) link(prev, c);
      prev = c;
    }
    // (1.B) the last reference is the message's parent: an existing parent link (from a truncated
    // References elsewhere) is broken first; none when there are no references, or it would loop
    unlink(own);
    if (prev !== null && !wouldLoop(prev, own)) link(prev, own);
  }

  // (2) root set; (3) the id table is no longer needed
  const roots = all.filter((c) => c.parent === null);
  table.clear();

  // (4) prune dummies, bottom-up (post-order, iterative): a non-root dummy is replaced by its
  // children; at the root level a dummy stays only when it has more than one child
  const nodes = new Map<Container, ThreadNode>();
  const order: Container[] = [];
  const stack: Container[] = [...roots];
  while (stack.length > 0) {
    const c = stack.pop()!;
    order.push(c);
    for (const k of c.children) stack.push(k);
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const c = order[i]!;
    const children: ThreadNode[] = [];
    for (const k of c.children) {
      const n = nodes.get(k)!;
      // children already pruned hold messages only, so a dummy's children can be promoted as is
      // (a loop, not push(...): a dummy may hold more children than a call takes arguments)
      if (n.msg === null) for (const g of n.children) children.push(g);
      else children.push(n);
      nodes.delete(k);
    }
    nodes.set(c, { msg: c.msg, children });
  }
  const top: ThreadNode[] = [];
  for (const r of roots) {
    const n = nodes.get(r)!;
    if (n.msg !== null || n.children.length > 1) top.push(n);
    else if (n.children.length === 1) top.push(n.children[0]!);
  }
  return top;
}

/** REFERENCES step 5: root-level threads with the same base subject are gathered. */
function gatherSubjects(top: ThreadNode[]): ThreadNode[] {
  // (5) gather root-level threads by base subject
  const subjectOf = (n: ThreadNode): string => nodeMsg(n)?.subject ?? "";
  const subjects = new Map<string, ThreadNode>();
  for (const n of top) {
    const subj = subjectOf(n);
    if (subj === "") continue;
    const old = subjects.get(subj);
    if (old === undefined) subjects.set(subj, n);
    else if (old.msg !== null && (n.msg === null || (old.msg.reply && !n.msg.reply))) subjects.set(subj, n);
  }
  const merged: ThreadNode[] = [];
  // positions in merged and top, so a replacement by a new dummy is O(1) (no indexOf: O(n²))
  const mergedAt = new Map<ThreadNode, number>();
  const topAt = new Map<ThreadNode, number>();
  for (let i = 0; i < top.length; i++) topAt.set(top[i]!, i);
  const gone = new Set<ThreadNode>();
  for (const n of top) {
    const subj = subjectOf(n);
    const t = subj === "" ? undefined : subjects.get(subj);
    if (t === undefined || t === n) {
      mergedAt.set(n, merged.length);
      merged.push(n);
      continue;
    }
    gone.add(n);
    if (t.msg === null && n.msg === null) {
      for (const k of n.children) t.children.push(k);
    } else if (t.msg === null || (n.msg!.reply && !t.msg.reply)) {
      t.children.push(n);
    } else {
      // a new dummy holding both; it takes the table entry's place in the root set
      const d: ThreadNode = { msg: null, children: [t, n] };
      const at = mergedAt.get(t);
      if (at !== undefined) {
        merged[at] = d;
        mergedAt.set(d, at);
      } else {
        // t comes later in the root set: swap it there
        const i = topAt.get(t)!;
        top[i] = d;
        topAt.set(d, i);
      }
      subjects.set(subj, d);
    }
  }
  return merged.filter((n) => !gone.has(n));
}

/** REFERENCES step 6 below the root level: siblings by sent date, deepest sets first. */
function sortSiblings(top: readonly ThreadNode[]): void {
  // (6) sort siblings by sent date, deepest sets first (a dummy sorts by its first child)
  const post: ThreadNode[] = [];
  const walk: ThreadNode[] = [...top];
  while (walk.length > 0) {
    const n = walk.pop()!;
    post.push(n);
    for (const k of n.children) walk.push(k);
  }
  for (let i = post.length - 1; i >= 0; i--) {
    const n = post[i]!;
    if (n.children.length > 1) n.children.sort(compareNodes);
  }
}

// ---------------------------------------------------------------------------------------------
// RFC 5256 §4 output

/**
 * The thread-lists of `* THREAD` (without the leading space): a chain of single children is
 * written flat ("(1 2 3)"), two or more children as nested lists ("(1 (2)(3 4))"), a dummy root
 * as its children's lists alone ("((1)(2))").
 */
export function formatThreads(roots: readonly ThreadNode[], num: (m: ThreadMessage) => number): string {
  const out: string[] = [];
  const stack: Array<ThreadNode | string> = [];
  for (let i = roots.length - 1; i >= 0; i--) stack.push(roots[i]!);
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item === "string") {
      out.push(item);
      continue;
    }
    out.push("(");
    let n = item;
    let first = true;
    for (;;) {
      if (n.msg !== null) {
        out.push(first ? String(num(n.msg)) : ` ${num(n.msg)}`);
        first = false;
      }
      if (n.children.length === 1) {
        n = n.children[0]!;
        continue;
      }
      break;
    }
    stack.push(")");
    if (n.children.length > 1) {
      for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
      if (!first) out.push(" ");
    }
  }
  return out.join("");
}
