import { asText, field, isRecord, type SichuanAnswer } from './protocol';
import { type Endpoint, type SignCase, signParams } from './sign';
import { type CipherEncoding, Sm4Cbc, Sm4DecryptError } from './sm4';

export interface CodecOptions {
  readonly deviceKey: string;
  readonly sm4Key: string;
  readonly sm4Iv: string;
  readonly cipherEncoding: CipherEncoding;
  readonly signCase: SignCase;
}

/** An answer the client cannot read at all (not JSON, no Result). */
export class SichuanAnswerError extends Error {
  override readonly name = 'SichuanAnswerError';
}

/** How the answer's Content arrived. */
export type ContentForm = 'none' | 'encrypted' | 'plain';

export interface DecodedAnswer {
  readonly result: number;
  readonly msg: string;
  readonly content: unknown;
  readonly contentForm: ContentForm;
  /** Set when Content was a string that did not decrypt or parse; `content` is then undefined. */
  readonly contentError?: string;
}

/**
 * The one codec of the Sichuan protocol: SM4 for the encrypted fields and Content, HMAC-MD5 sign over
 * the seed's parameter order, and the `{Result, Content, Msg}` envelope. Used by client and emulator.
 * The protocol: docs/protocols/sichuan.md.
 */
export class SichuanCodec {
  readonly cipher: Sm4Cbc;

  constructor(private readonly options: CodecOptions) {
    this.cipher = new Sm4Cbc(options.sm4Key, options.sm4Iv, options.cipherEncoding);
  }

  encrypt(text: string): string {
    return this.cipher.encrypt(text);
  }

  /** Throws Sm4DecryptError. */
  decrypt(cipherText: string): string {
    return this.cipher.decrypt(cipherText);
  }

  sign(
    endpoint: Endpoint,
    params: Readonly<Record<string, string | undefined>>,
    letterCase?: SignCase,
  ): string {
    return signParams(endpoint, this.options.deviceKey, params, letterCase ?? this.options.signCase);
  }

  /**
   * The request's fields with `sign` appended (values already encrypted:
   * docs/protocols/sichuan.md#endpoints).
   */
  signed(endpoint: Endpoint, params: Readonly<Record<string, string>>): Record<string, string> {
    return { ...params, sign: this.sign(endpoint, params) };
  }

  /**
   * The emulator's check: the seed says "Hex" without a case, so both cases pass
   * (docs/protocols/sichuan.md#sign).
   */
  verify(endpoint: Endpoint, params: Readonly<Record<string, string | undefined>>): boolean {
    const given = params['sign'];
    if (typeof given !== 'string') return false;
    return given.toLowerCase() === this.sign(endpoint, params, 'lower');
  }

  /** Serializes an answer, encrypting a non-empty Content (docs/protocols/sichuan.md#transport). */
  encodeAnswer(answer: SichuanAnswer, contentForm: 'encrypted' | 'plain' = 'encrypted'): string {
    const content = answer.Content;
    let wire: unknown = '';
    if (content !== undefined && content !== '' && content !== null) {
      wire = contentForm === 'plain' ? content : this.encrypt(JSON.stringify(content));
    }
    return JSON.stringify({ Result: answer.Result, Content: wire, Msg: answer.Msg ?? '' });
  }

  /** Parses an answer tolerating key case and unknown fields; Content decrypted when a string, as-is when JSON. */
  decodeAnswer(body: string): DecodedAnswer {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new SichuanAnswerError(`answer is not JSON: ${JSON.stringify(body.slice(0, 80))}`);
    }
    if (!isRecord(parsed)) throw new SichuanAnswerError('answer is not a JSON object');
    const resultText = asText(field(parsed, 'Result'));
    const result = resultText === undefined ? Number.NaN : Number(resultText);
    if (!Number.isInteger(result)) throw new SichuanAnswerError('answer has no integer Result');
    const msg = asText(field(parsed, 'Msg')) ?? '';
    const raw = field(parsed, 'Content');
    if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) {
      return { result, msg, content: undefined, contentForm: 'none' };
    }
    if (typeof raw !== 'string') return { result, msg, content: raw, contentForm: 'plain' };
    const text = raw.trim();
    // Neither hex nor base64 starts with `{` or `[`: such a string is JSON sent as text.
    if (text.startsWith('{') || text.startsWith('[')) {
      try {
        return { result, msg, content: JSON.parse(text), contentForm: 'plain' };
      } catch {
        return { result, msg, content: undefined, contentForm: 'plain', contentError: 'Content is not JSON' };
      }
    }
    try {
      const plain = this.decrypt(text);
      return { result, msg, content: JSON.parse(plain), contentForm: 'encrypted' };
    } catch (err) {
      const reason = err instanceof Sm4DecryptError ? err.message : 'decrypted Content is not JSON';
      return { result, msg, content: undefined, contentForm: 'encrypted', contentError: reason };
    }
  }
}
