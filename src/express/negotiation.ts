import type { IncomingMessage } from 'node:http';
import Negotiator from 'negotiator';
import { smallestFirst } from '../build/loaded';
import type { DictionaryCoding, ServedFile } from '../build/loaded';

/** Server order among encodings a request accepts equally (`*`, or equal q-values). */
const PREFERRED = ['br', 'gzip', 'identity'];
/** `Available-Dictionary: :<base64 SHA-256>:`, a structured-field byte sequence. */
const AVAILABLE_DICTIONARY = /^:([A-Za-z0-9+/]{43}=):$/;

/** negotiator 1.x takes `preferred` (server order among equal q-values); its types predate it. */
type EncodingChooser = (
  available: string[],
  options: { preferred: string[] },
) => string | undefined;

/**
 * Chooses the representation of a file that a request gets, from its `Accept-Encoding` and
 * `Available-Dictionary`. Answers are remembered by header value, in caches of bounded size:
 * header values are client-controlled.
 */
export class EncodingNegotiation {
  private readonly encodings = new BoundedCache<string>(256);
  private readonly takesDictionaries = new BoundedCache<DictionaryCoding[]>(256);

  /** `identity`, `br`, `gzip`, or `dcz:<hash>` / `dcb:<hash>` for a body against a dictionary. */
  encodingOf(req: IncomingMessage, file: ServedFile): string {
    return this.dictionaryEncoding(req, file) ?? this.encodingFor(req.headers['accept-encoding']);
  }

  /**
   * The `dcz` or `dcb` variant to send (the smaller of those accepted), when the request names a
   * dictionary this file was compressed against and is not a cross-site no-cors fetch (RFC 9842
   * makes dictionaries usable only where CORS would let the page read the response). Otherwise
   * undefined.
   */
  private dictionaryEncoding(req: IncomingMessage, file: ServedFile): string | undefined {
    const available = req.headers['available-dictionary'];
    if (!file.dictionaries || typeof available !== 'string') return undefined;
    const hash = AVAILABLE_DICTIONARY.exec(available.trim())?.[1];
    const bodies = hash && file.dictionaries.get(hash);
    if (!bodies) return undefined;
    if (
      req.headers['sec-fetch-mode'] === 'no-cors' &&
      req.headers['sec-fetch-site'] === 'cross-site'
    ) {
      return undefined;
    }
    const accept = req.headers['accept-encoding'] ?? '';
    let accepted = this.takesDictionaries.get(accept);
    if (accepted === undefined) {
      accepted = new Negotiator({ headers: { 'accept-encoding': accept } }).encodings([
        'dcz',
        'dcb',
      ]) as DictionaryCoding[];
      this.takesDictionaries.set(accept, accepted);
    }
    const coding = smallestFirst(bodies).find((each) => accepted.includes(each));
    return coding && `${coding}:${hash}`;
  }

  private encodingFor(accept: string | undefined): string {
    if (!accept) return 'identity';
    let chosen = this.encodings.get(accept);
    if (chosen === undefined) {
      const negotiator = new Negotiator({ headers: { 'accept-encoding': accept } });
      const choose = negotiator.encoding.bind(negotiator) as EncodingChooser;
      chosen = choose(PREFERRED, { preferred: PREFERRED }) ?? 'identity';
      this.encodings.set(accept, chosen);
    }
    return chosen;
  }
}

/** A map that forgets everything once it is full: header values are client-controlled. */
class BoundedCache<T> {
  private readonly entries = new Map<string, T>();
  constructor(private readonly limit: number) {}

  get(key: string): T | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: T): void {
    if (this.entries.size >= this.limit) this.entries.clear();
    this.entries.set(key, value);
  }
}
