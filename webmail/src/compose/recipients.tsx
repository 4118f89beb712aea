/**
 * A recipient field (To, Cc, Bcc) with address completion: an ARIA 1.2 combobox whose listbox
 * offers addresses from the user's own mail for the address being typed (debounced, newest
 * answer only), chosen with the arrow keys and Enter/Tab or the mouse. Escape closes the list
 * first (and only then the compose view).
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { t } from "../i18n/index.ts";
import type { EmailAddress } from "../types.ts";
import { completeToken, currentToken, formatAddress } from "./addresses.ts";
import { suggest } from "./suggest.ts";

const DEBOUNCE_MS = 250;

export function RecipientField(props: {
  id: string;
  label: string;
  value: string;
  onInput: (v: string) => void;
  inputRef?: { current: HTMLInputElement | null };
}) {
  const [options, setOptions] = useState<EmailAddress[]>([]);
  const [active, setActive] = useState(-1);
  const seq = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const listId = `${props.id}-list`;

  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );

  function lookup(text: string) {
    if (timer.current) clearTimeout(timer.current);
    const token = currentToken(text);
    if (token.length < 2) {
      seq.current++;
      setOptions([]);
      return;
    }
    timer.current = setTimeout(() => {
      const mine = ++seq.current;
      suggest(token)
        .then((list) => {
          if (mine !== seq.current) return;
          setOptions(list);
          setActive(list.length ? 0 : -1);
        })
        .catch(() => {
          if (mine === seq.current) setOptions([]);
        });
    }, DEBOUNCE_MS);
  }

  function choose(a: EmailAddress) {
    seq.current++;
    props.onInput(completeToken(props.value, a));
    setOptions([]);
    setActive(-1);
  }

  function onKeyDown(e: KeyboardEvent) {
    if (options.length === 0) return;
    if (e.key === "ArrowDown") {
      e.preventDefault();
      setActive((active + 1) % options.length);
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      setActive((active - 1 + options.length) % options.length);
    } else if ((e.key === "Enter" || e.key === "Tab") && active >= 0 && options[active]) {
      e.preventDefault();
      choose(options[active]!);
    } else if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      seq.current++;
      setOptions([]);
    }
  }

  const open = options.length > 0;
  return (
    <div class="pk-field pk-recipient">
      <label for={props.id}>{props.label}</label>
      <div class="pk-combo">
        <input
          id={props.id}
          ref={props.inputRef}
          type="text"
          autocomplete="off"
          spellcheck={false}
          role="combobox"
          aria-autocomplete="list"
          aria-expanded={open}
          aria-controls={listId}
          aria-activedescendant={open && active >= 0 ? `${listId}-${active}` : undefined}
          value={props.value}
          onInput={(e) => {
            const v = (e.currentTarget as HTMLInputElement).value;
            props.onInput(v);
            lookup(v);
          }}
          onKeyDown={onKeyDown}
          onBlur={() => setTimeout(() => setOptions([]), 150)}
        />
        <div
          id={listId}
          role="listbox"
          aria-label={t("compose.suggestions")}
          hidden={!open}
          class="pk-listbox"
        >
          {options.map((a, i) => (
            <div
              key={a.email}
              tabIndex={-1}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === active}
              class={i === active ? "active" : ""}
              onMouseDown={(e) => {
                e.preventDefault();
                choose(a);
              }}
            >
              {formatAddress(a)}
            </div>
          ))}
        </div>
      </div>
    </div>
  );
}
