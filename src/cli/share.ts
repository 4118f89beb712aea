/**
 * CLI for shared mailboxes (RFC 4314 ACLs, docs/architecture.md): `share ADDRESS MAILBOX --with
 * GRANTEE --rights RIGHTS`, `share ADDRESS MAILBOX --with GRANTEE --remove` and `share list
 * ADDRESS` (one line per grant: mailbox, tab, grantee, tab, rights — first the grants on the
 * address's own mailboxes, then the mailboxes of others shared WITH it, named as its IMAP client
 * sees them, `Shared/<owner>/<mailbox>`, with the address as grantee and the rights it has there,
 * "anyone" grants included). GRANTEE is an account's
 * address or "anyone"; RIGHTS are RFC 4314 letters (lrswipkxtea; c and d as their groups).
 * Registered by commands.ts.
 */
import type { Command } from "commander";
import { sharedName } from "../imap/server/shared.ts";
import { canonicalRights } from "../store/types.ts";
import type { CliHelpers } from "./outbound.ts";

interface ShareOpts {
  config?: string;
  with?: string;
  rights?: string;
  remove?: boolean;
}

export function addShareCommand(program: Command, h: CliHelpers): void {
  h.configOption(program.command("share <address> [mailbox]"))
    .description(
      "share a mailbox of ADDRESS: --with GRANTEE (an address or anyone) --rights RIGHTS (RFC 4314 letters " +
        "lrswipkxtea, e.g. lrs to read, lrswite to work in it), or --with GRANTEE --remove; " +
        "`share list ADDRESS` prints mailbox, grantee and rights of each grant on ADDRESS's mailboxes, " +
        "then of each mailbox shared with ADDRESS (as Shared/OWNER/MAILBOX)",
    )
    .option("--with <grantee>", "the account address to share with, or anyone")
    .option("--rights <rights>", "the rights to grant (replacing earlier ones)")
    .option("--remove", "remove the grantee's rights")
    .action(async (first: string, second: string | undefined, o: ShareOpts) => {
      if (first === "list") {
        if (!second) h.usage("share list needs an ADDRESS");
        await list(h, second, o);
        return;
      }
      if (!second) h.usage("share needs ADDRESS and MAILBOX");
      if (!o.with) h.usage("share needs --with ADDRESS|anyone");
      if (!!o.remove === (o.rights !== undefined)) h.usage("give exactly one of --rights and --remove");
      let rights = "";
      if (!o.remove) {
        const r = canonicalRights(o.rights ?? "");
        if (r === null || r === "") h.usage(`invalid rights "${o.rights}" (RFC 4314 letters lrswipkxtea)`);
        rights = r;
      }
      const grantee = o.with;
      await h
        .withStore(h.load(o), async (s) => {
          const acc = await s.getAccount(first);
          if (!acc) h.notFound(`no such account: ${first}`);
          const mb = await s.getMailbox(acc.id, second);
          if (!mb) h.notFound(`no such mailbox: ${second}`);
          await s.setAcl(mb.id, grantee, rights);
        })
        .catch(h.storeExit);
    });
}

async function list(h: CliHelpers, address: string, o: ShareOpts): Promise<void> {
  const lines = await h
    .withStore(h.load(o), async (s) => {
      const acc = await s.getAccount(address);
      if (!acc) h.notFound(`no such account: ${address}`);
      const out: string[] = [];
      for (const mb of await s.listMailboxes(acc.id)) {
        for (const e of await s.getAcl(mb.id)) out.push(`${mb.name}\t${e.grantee}\t${e.rights}\n`);
      }
      // what others share with the address (directly or through "anyone"), as IMAP names it
      const shared = (await s.sharedWith(acc.id))
        .map((m) => ({ name: sharedName(m.ownerAddress.toLowerCase(), m.mailbox.name), rights: m.rights }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const m of shared) out.push(`${m.name}\t${acc.address}\t${m.rights}\n`);
      return out;
    })
    .catch(h.storeExit);
  for (const l of lines) process.stdout.write(l);
}
