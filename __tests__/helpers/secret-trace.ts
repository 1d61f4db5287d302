/**
 * An independent search for secrets in any text (answers, log events, console output),
 * written without the library's redactor: used by the leak audit, the property tests and
 * the suite-wide watch (`__tests__/setup/leak-watch.ts`).
 */

/**
 * The length from which a piece of `secret` written as is must be found on its own:
 * half the secret, at least 8 and at most 12 characters (the whole secret when it is
 * shorter), as docs/security.md documents for the redactor.
 */
export function secretFragmentLength(secret: string): number {
  return Math.min(secret.length, Math.max(8, Math.min(12, Math.ceil(secret.length / 2))));
}

// JSON escapes (any number of backslashes), `%XX` bytes: decoded character by character
const ESCAPE = /\\+u([0-9a-fA-F]{4})|\\+(["\\/])|%([0-9a-fA-F]{2})/g;

/** `text` with every `\uXXXX`, `\/`, `\"`, `\\` and `%XX` decoded, as bytes read as Latin-1 for `%XX`. */
function unescapeAll(text: string): string {
  let out = text;
  // twice: an escape inside an escaped JSON string has doubled backslashes
  for (let i = 0; i < 2; i++) {
    out = out.replace(ESCAPE, (_m, unit: string | undefined, short: string | undefined, byte: string | undefined) =>
      unit !== undefined ? String.fromCharCode(parseInt(unit, 16)) : short !== undefined ? short : String.fromCharCode(parseInt(byte!, 16)),
    );
  }
  return out;
}

/**
 * The texts a secret could be read back from in `text`: the text itself, the text with
 * its escapes decoded, and every hex or base64(url) run decoded at each alignment (as
 * Latin-1 bytes). Written without the library's code: decoding what is there rather
 * than encoding what is looked for, so a gap in `encodedForms` cannot hide a leak.
 */
export function secretViews(text: string): string[] {
  const views = [text];
  const unescaped = unescapeAll(text);
  if (unescaped !== text) views.push(unescaped);
  for (const source of views.slice()) {
    for (const [run] of source.matchAll(/[0-9a-fA-F]{12,}/g)) {
      for (let off = 0; off < 2; off++) views.push(Buffer.from(run.slice(off, off + ((run.length - off) & ~1)), 'hex').toString('latin1'));
    }
    for (const [run] of source.matchAll(/[A-Za-z0-9+/_-]{8,}/g)) {
      const std = run.replace(/-/g, '+').replace(/_/g, '/');
      for (let off = 0; off < 4; off++) views.push(Buffer.from(std.slice(off), 'base64').toString('latin1'));
    }
  }
  return views;
}

/**
 * A finder of configured secrets in any text, independent of the library's redactor:
 * it reports a secret found whole in any of {@link secretViews} (as is, JSON-escaped,
 * URL-encoded, hex or base64 at any alignment and letter case), and any piece of it of
 * {@link secretFragmentLength} characters or more in any view. The description names the
 * secret's label and how it was found, never the value.
 */
export function secretTraceFinder(secrets: Readonly<Record<string, string>>): (text: string) => string | undefined {
  const targets = Object.entries(secrets).map(([label, secret]) => {
    const bytes = Buffer.from(secret, 'utf8').toString('latin1');
    const size = secretFragmentLength(bytes);
    const pieces = new Set<string>();
    for (let at = 0; at + size <= bytes.length; at++) pieces.add(bytes.slice(at, at + size));
    return { label, bytes, pieces: [...pieces] };
  });
  return (text) => {
    const views = secretViews(text);
    for (const { label, bytes, pieces } of targets) {
      for (const [i, view] of views.entries()) {
        const where = i === 0 ? 'as is' : 'once decoded';
        if (view.includes(bytes)) return `${label} (whole, ${where})`;
        if (pieces.some((p) => view.includes(p))) return `${label} (a piece of ${pieces[0]!.length} or more characters, ${where})`;
      }
    }
    return undefined;
  };
}
