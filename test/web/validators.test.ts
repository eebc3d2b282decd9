import { describe, expect, it } from 'vitest';
import { idNumberBirthDate, idNumberCheckCharacter, idNumberProblem } from '../../lib/id-number';
import { imageHeader } from '../../lib/image-header';

/**
 * The registration form's two shared checks, against values written out by hand from their
 * published sources (the registration tests over HTTP and in chromium use them end to end).
 */
describe('GB 11643-1999 ID numbers (ISO 7064 MOD 11-2 check character)', () => {
  // The two example numbers of GB 11643-1999 itself (§8 of the standard; also quoted by the Chinese
  // Wikipedia article 中华人民共和国公民身份号码): Beijing Chaoyang, born 1949-12-31, a woman,
  // check X; Guangdong Jieyang, born 1880-01-01, a man, check 4.
  const STANDARD_EXAMPLES = ['11010519491231002X', '440524188001010014'] as const;

  it("accepts the standard's own examples and reads their birth dates", () => {
    for (const id of STANDARD_EXAMPLES) expect(idNumberProblem(id), id).toBeUndefined();
    expect(idNumberBirthDate('11010519491231002X')).toBe('1949-12-31');
    expect(idNumberBirthDate('440524188001010014')).toBe('1880-01-01');
    expect(idNumberCheckCharacter('11010519491231002')).toBe('X');
    expect(idNumberCheckCharacter('44052418800101001')).toBe('4');
    // People type a lower-case x.
    expect(idNumberProblem('11010519491231002x')).toBeUndefined();
  });

  it('refuses every other check character for the same 17 digits', () => {
    for (const wrong of '0123456789') {
      expect(idNumberProblem(`11010519491231002${wrong}`)).toMatch(/check character is \d, .* calls for X/);
    }
    expect(idNumberProblem('440524188001010015')).toMatch(/calls for 4/);
  });

  it('refuses a wrong shape or an impossible birth date, saying which', () => {
    expect(idNumberProblem('1101051949123100')).toMatch(/18 characters/);
    expect(idNumberProblem('11010519491231002Y')).toMatch(/18 characters/);
    expect(idNumberProblem('110105194913310029')).toMatch(/real birth date \(19491331/);
    expect(idNumberProblem('110105190002290021')).toMatch(/real birth date/); // 1900 was not a leap year
    const tomorrow = new Date(Date.now() + 86_400_000);
    const ymd = tomorrow.toISOString().slice(0, 10).replaceAll('-', '');
    const first17 = `110105${ymd}002`;
    expect(idNumberProblem(`${first17}${idNumberCheckCharacter(first17)}`)).toMatch(/real birth date/);
  });
});

describe('photo content (JPEG frame header, PNG IHDR)', () => {
  // ITU-T T.81 Annex B: SOI; a JFIF 1.01 APP0 segment (JFIF spec §"JFIF file syntax");
  // SOF0 with P=8, Y=16 lines, X=32 samples per line, Nf=3 components (Ci, Hi|Vi, Tqi each).
  const JPEG_BYTES = [
    [0xff, 0xd8],
    [
      0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00,
      0x00,
    ],
    [0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x10, 0x00, 0x20, 0x03],
    [0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01],
  ].flat();
  // W3C PNG §5.2 signature; §11.2.1 IHDR: width 1, height 1, bit depth 8, colour type 6 (RGBA),
  // compression 0, filter 0, interlace 0; CRC-32 over "IHDR" and the 13 data bytes = 0x1F15C489.
  const PNG_BYTES = [
    [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
    [0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52],
    [0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00],
    [0x1f, 0x15, 0xc4, 0x89],
  ].flat();

  it('reads the size from a JPEG frame header and a PNG IHDR', () => {
    expect(imageHeader(Uint8Array.from(JPEG_BYTES))).toEqual({ type: 'jpeg', width: 32, height: 16 });
    expect(imageHeader(Uint8Array.from(PNG_BYTES))).toEqual({ type: 'png', width: 1, height: 1 });
  });

  it('refuses text, a wrong IHDR CRC, a bad depth, image data before the frame, and a cut-off header', () => {
    expect(imageHeader(new TextEncoder().encode('just a text file named id.jpg'))).toHaveProperty(
      'problem',
      expect.stringMatching(/not a JPEG or PNG/),
    );
    const badCrc = Uint8Array.from(PNG_BYTES);
    badCrc[32] = 0x8a;
    expect(imageHeader(badCrc)).toEqual({ problem: 'PNG: the IHDR CRC is wrong' });
    const sosFirst = Uint8Array.from([
      0xff, 0xd8, 0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00,
    ]);
    expect(imageHeader(sosFirst)).toEqual({ problem: 'JPEG: no frame header before the image data' });
    expect(imageHeader(Uint8Array.from(JPEG_BYTES.slice(0, 26)))).toEqual({
      problem: 'JPEG: cut off before its frame header',
    });
    expect(imageHeader(Uint8Array.from(PNG_BYTES.slice(0, 20)))).toHaveProperty(
      'problem',
      expect.stringMatching(/cut off/),
    );
    const zeroWidth = Uint8Array.from(JPEG_BYTES);
    zeroWidth[27] = 0; // X = 0x0000
    zeroWidth[28] = 0;
    expect(imageHeader(zeroWidth)).toEqual({ problem: 'JPEG: the frame has no size' });
  });
});
