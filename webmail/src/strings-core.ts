/** Strings shared by every view (the areas keep theirs in their own folders). */
import { register } from "./i18n/index.ts";

register({
  en: {
    "error.noMailboxWithRole": "There is no {role} folder.",
  },
  sv: {
    "error.noMailboxWithRole": "Det finns ingen mapp för {role}.",
  },
});
