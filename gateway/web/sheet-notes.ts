/**
 * Cell notes as exceljs writes them, written for less. A monthly file's notes (an anomaly day's
 * reason, 6 % of its days) took 40 % of the file's time in the sheet writer's thread: for every note
 * exceljs merges the note's default settings into a new model, then renders the comment and its
 * VML shape through generic XML writers. A sheet's notes are a handful of texts (缺出场卡, 缺进场卡,
 * both, 仍在场), so:
 * - a note's model is merged once per text and shared (nothing writes to it: the worksheet copies
 *   it with the cell's address);
 * - a note's XML is exceljs's own, rendered once per text and then filled in with the cell's
 *   address, the shape's number and its anchor.
 * Each template is checked when it is made: filled in for another cell it must give exactly what
 * exceljs writes there, or that text keeps exceljs's own path. test/web/sheet-notes.test.ts holds
 * the two paths to the same bytes for many cells. Written against exceljs 4.4.0 (package.json pins it).
 */

/** exceljs's `Note` (lib/doc/note.js): what a cell's `note` becomes. */
interface NoteClass {
  prototype: object;
}

/** exceljs's `SheetCommentsWriter` (lib/stream/xlsx/sheet-comments-writer.js). */
interface CommentsWriterClass {
  prototype: { _writeComment(this: CommentsWriter, comment: NoteComment, index: number): void };
}

interface CommentsWriter {
  commentsStream: { write(xml: string): unknown };
  vmlStream: { write(xml: string): unknown };
}

/** A note as the worksheet hands it to the comments writer. */
interface NoteComment {
  readonly note: object;
  readonly ref: string;
  readonly refAddress: { readonly row: number; readonly col: number };
}

interface Template {
  /** The comment's XML around its `ref`. */
  readonly comment: readonly [string, string];
  /** The shape's XML around its id, anchor, row and column. */
  readonly shape: readonly [string, string, string, string, string];
}

const installed = new WeakSet<object>();

/** Installs both on these classes (the ones the writer uses); once per class. */
export function speedUpNotes(Note: NoteClass, CommentsWriter: CommentsWriterClass): void {
  if (installed.has(Note) || installed.has(CommentsWriter)) return;
  installed.add(Note);
  installed.add(CommentsWriter);
  const shared = new Map<string, unknown>();
  /** The note parts of shared models: only those are written from a template. */
  const sharedNotes = new WeakSet<object>();
  const model = Object.getOwnPropertyDescriptor(Note.prototype, 'model');
  if (!model?.get || !model.set) return;
  const ownModel = model.get;
  Object.defineProperty(Note.prototype, 'model', {
    ...model,
    get(this: { note: unknown }) {
      if (typeof this.note !== 'string') return ownModel.call(this);
      let merged = shared.get(this.note) as { note: object } | undefined;
      if (!merged) {
        merged = ownModel.call(this) as { note: object };
        shared.set(this.note, merged);
        sharedNotes.add(merged.note);
      }
      return merged;
    },
  });

  const ownWrite = CommentsWriter.prototype._writeComment;
  const templates = new WeakMap<object, Template | null>();
  CommentsWriter.prototype._writeComment = function (comment, index) {
    let template = sharedNotes.has(comment.note) ? templates.get(comment.note) : null;
    if (template === undefined) {
      template = templateOf(ownWrite, comment, index);
      templates.set(comment.note, template);
    }
    if (!template) {
      ownWrite.call(this, comment, index);
      return;
    }
    const [comment0, comment1] = template.comment;
    this.commentsStream.write(`${comment0}${comment.ref}${comment1}`);
    this.vmlStream.write(fillShape(template, comment, index));
  };
}

/** exceljs's two pieces of XML for a note at a cell. */
function rendered(
  ownWrite: CommentsWriterClass['prototype']['_writeComment'],
  comment: NoteComment,
  index: number,
): { comment: string; shape: string } {
  const out = { comment: '', shape: '' };
  ownWrite.call(
    {
      commentsStream: { write: (xml: string) => (out.comment += xml) },
      vmlStream: { write: (xml: string) => (out.shape += xml) },
    },
    comment,
    index,
  );
  return out;
}

/** What varies in a note's shape from cell to cell (vml-shape-xform.js, vml-anchor-xform.js). */
function shapeValues(comment: NoteComment, index: number): [string, string, string, string] {
  const { row, col } = comment.refAddress;
  const top = Math.max(row - 2, 0);
  return [
    `id="_x0000_s${1025 + index}"`,
    `<x:Anchor>${[col, 6, top, 14, col + 2, 2, top + 4, 16].join(', ')}</x:Anchor>`,
    `<x:Row>${row - 1}</x:Row>`,
    `<x:Column>${col - 1}</x:Column>`,
  ];
}

function fillShape(template: Template, comment: NoteComment, index: number): string {
  const [s0, s1, s2, s3, s4] = template.shape;
  const [id, anchor, row, column] = shapeValues(comment, index);
  return `${s0}${id}${s1}${anchor}${s2}${row}${s3}${column}${s4}`;
}

/** The note's XML with holes for what varies, or null when exceljs's own does not fit one. */
function templateOf(
  ownWrite: CommentsWriterClass['prototype']['_writeComment'],
  comment: NoteComment,
  index: number,
): Template | null {
  const here = rendered(ownWrite, comment, index);
  const commentParts = here.comment.split(`ref="${comment.ref}"`);
  if (commentParts.length !== 2) return null;
  const shape: string[] = [];
  let rest = here.shape;
  for (const value of shapeValues(comment, index)) {
    const at = rest.indexOf(value);
    if (at < 0 || rest.indexOf(value, at + 1) >= 0) return null;
    shape.push(rest.slice(0, at));
    rest = rest.slice(at + value.length);
  }
  shape.push(rest);
  const template: Template = {
    comment: [`${commentParts[0]}ref="`, `"${commentParts[1]}`],
    shape: shape as unknown as Template['shape'],
  };
  // Another cell, far off: the template must give what exceljs gives there.
  const other: NoteComment = { ...comment, ref: 'AB1234', refAddress: { row: 1234, col: 28 } };
  const expected = rendered(ownWrite, other, index + 977);
  const [c0, c1] = template.comment;
  if (`${c0}${other.ref}${c1}` !== expected.comment) return null;
  if (fillShape(template, other, index + 977) !== expected.shape) return null;
  return template;
}
