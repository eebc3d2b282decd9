import smCrypto from 'sm-crypto';
import { sm4KeyBytes } from '../../config/forms';

export { Sm4KeyError, sm4KeyBytes } from '../../config/forms';

const BLOCK = 16;

export type CipherEncoding = 'hex' | 'base64';

/** A ciphertext that does not decrypt (bad encoding, length, padding or UTF-8); callers record it, never crash. */
export class Sm4DecryptError extends Error {
  override readonly name = 'Sm4DecryptError';
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/**
 * SM4-CBC with PKCS#7 over UTF-8 text, ciphertext as hex or base64 (the seed names neither:
 * docs/protocols/sichuan.md#sm4).
 */
export class Sm4Cbc {
  private readonly key: number[];
  private readonly iv: number[];

  constructor(
    key: string,
    iv: string,
    private readonly encoding: CipherEncoding,
  ) {
    this.key = Array.from(sm4KeyBytes(key, 'key'));
    this.iv = Array.from(sm4KeyBytes(iv, 'IV'));
  }

  encryptBytes(plain: Uint8Array): Uint8Array {
    const out = smCrypto.sm4.encrypt(Array.from(plain), this.key, {
      mode: 'cbc',
      iv: this.iv,
      padding: 'pkcs#7',
      output: 'array',
    });
    return Uint8Array.from(out);
  }

  encrypt(text: string): string {
    const cipher = Buffer.from(this.encryptBytes(Buffer.from(text, 'utf8')));
    return cipher.toString(this.encoding);
  }

  decryptBytes(cipher: Uint8Array): Uint8Array {
    // sm-crypto ignores a trailing partial block and accepts a pad byte of 0: check both first.
    if (cipher.length === 0 || cipher.length % BLOCK !== 0) {
      throw new Sm4DecryptError(`ciphertext length ${cipher.length} is not a positive multiple of 16`);
    }
    let out: number[];
    try {
      out = smCrypto.sm4.decrypt(Array.from(cipher), this.key, {
        mode: 'cbc',
        iv: this.iv,
        padding: 'none',
        output: 'array',
      });
    } catch (err) {
      throw new Sm4DecryptError(`SM4 decryption failed: ${(err as Error).message}`);
    }
    const pad = out[out.length - 1] ?? 0;
    if (pad < 1 || pad > BLOCK) throw new Sm4DecryptError('bad PKCS#7 padding (wrong key or IV?)');
    for (let i = out.length - pad; i < out.length; i++) {
      if (out[i] !== pad) throw new Sm4DecryptError('bad PKCS#7 padding (wrong key or IV?)');
    }
    return Uint8Array.from(out.slice(0, out.length - pad));
  }

  decrypt(encoded: string): string {
    const bytes = this.decryptBytes(decodeCipherText(encoded, this.encoding));
    try {
      return utf8Strict.decode(bytes);
    } catch {
      throw new Sm4DecryptError('decrypted bytes are not UTF-8 (wrong key or IV?)');
    }
  }
}

function decodeCipherText(encoded: string, encoding: CipherEncoding): Uint8Array {
  const text = encoded.trim();
  if (encoding === 'hex') {
    if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw new Sm4DecryptError('ciphertext is not hex');
    return Buffer.from(text, 'hex');
  }
  if (!/^[A-Za-z0-9+/\-_]*={0,2}$/.test(text)) throw new Sm4DecryptError('ciphertext is not base64');
  return Buffer.from(text, 'base64');
}
