/** Placeholder until h-wm-reader lands (the real reader replaces this file on merge). */
export function Reader(props: { emailId: string }) {
  return (
    <article class="reader-placeholder" data-email-id={props.emailId}>
      {props.emailId}
    </article>
  );
}
