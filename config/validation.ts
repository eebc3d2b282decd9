import * as v from 'valibot';

/**
 * How the gateway words and reports validation issues, shared by the configuration schema and the
 * decoders that validate what arrives from outside (Deli messages, Modbus profiles).
 */

// ───────────────────────────── issue wording ─────────────────────────────

/**
 * Words valibot's built-in issues the way the gateway has always worded them ("Too small: expected
 * number to be >=1"), so operators and scripts see the same reasons whatever the library.
 * Messages given in the schemas themselves win over these.
 */
export function issueMessage(issue: v.BaseIssue<unknown>): string {
  const requirement = (issue as { requirement?: unknown }).requirement;
  const input = issue.input;
  const of = typeof input === 'string' ? 'string' : Array.isArray(input) ? 'array' : 'number';
  switch (issue.type) {
    case 'integer':
      return `Invalid input: expected int, received ${typeName(input)}`;
    case 'min_value':
      return `Too small: expected number to be >=${String(requirement)}`;
    case 'gt_value':
      return `Too small: expected number to be >${String(requirement)}`;
    case 'max_value':
      return `Too big: expected number to be <=${String(requirement)}`;
    case 'min_length':
      return `Too small: expected ${of} to have >=${String(requirement)} ${of === 'array' ? 'items' : 'characters'}`;
    case 'max_length':
      return `Too big: expected ${of} to have <=${String(requirement)} ${of === 'array' ? 'items' : 'characters'}`;
    case 'regex':
      return `Invalid string: must match pattern ${String(requirement)}`;
    case 'url':
      return 'Invalid URL';
    case 'picklist':
    case 'enum':
      return `Invalid option: expected one of ${options(issue).replace(/ \| /g, '|')}`;
    case 'variant':
      // Raised on the discriminator key when the input is an object, on the input itself otherwise.
      if (issue.path === undefined) return `Invalid input: expected object, received ${typeName(input)}`;
      return `Invalid discriminator value. Expected ${options(issue).replace(/"/g, "'")}`;
    case 'union':
      return 'Invalid input';
  }
  if (issue.kind !== 'schema') return 'Invalid input';
  if (input === undefined) return `Invalid input: expected ${expectedName(issue)}, received undefined`;
  if (issue.expected === 'never') return `Unrecognized key: "${String(input)}"`;
  return `Invalid input: expected ${expectedName(issue)}, received ${typeName(input)}`;
}

/** valibot writes a list of options as `("a" | "b")`. */
function options(issue: v.BaseIssue<unknown>): string {
  return (issue.expected ?? '').replace(/^\((.*)\)$/, '$1');
}

function expectedName(issue: v.BaseIssue<unknown>): string {
  if (/object$/.test(issue.type)) return issue.expected?.startsWith('"') ? 'value' : 'object';
  if (issue.type === 'literal') return issue.expected ?? 'literal';
  return issue.type;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
  return typeof value;
}

/** `path.to.field: reason` for every issue; an unknown key is reported on the object that has it. */
export function describeIssue(issue: v.BaseIssue<unknown>, root = '(root)'): string {
  const items = issue.path ?? [];
  const last = items[items.length - 1];
  const onKey = last !== undefined && last.origin === 'key';
  const unknownKey = onKey && issue.expected === 'never';
  // An object reports a missing key on the key itself; a record reports a bad key there too.
  const missingKey = onKey && issue.input === undefined && /object$/.test(issue.type);
  const keys = (unknownKey ? items.slice(0, -1) : items).map((item) => String(item.key));
  const message = onKey && !unknownKey && !missingKey ? `Invalid key: ${issue.message}` : issue.message;
  return `${keys.join('.') || root}: ${message}`;
}

/** A schema with the `parse`/`safeParse` pair the rest of the code and the tests call. */
export interface Validator<S extends v.GenericSchema> {
  readonly schema: S;
  parse(input: unknown): v.InferOutput<S>;
  safeParse(input: unknown): v.SafeParseResult<S>;
}

export function validator<S extends v.GenericSchema>(schema: S): Validator<S> {
  const config = { message: issueMessage };
  return {
    schema,
    parse: (input) => v.parse(schema, input, config),
    safeParse: (input) => v.safeParse(schema, input, config),
  };
}

/** The path to a nested value, for issues a cross-field check raises. */
export function pathTo(
  root: unknown,
  keys: ReadonlyArray<string | number>,
): [v.IssuePathItem, ...v.IssuePathItem[]] {
  const items: v.IssuePathItem[] = [];
  let node = root;
  for (const key of keys) {
    const value = (node as Record<string | number, unknown>)[key];
    items.push(
      typeof key === 'number'
        ? { type: 'array', origin: 'value', input: node as unknown[], key, value }
        : { type: 'object', origin: 'value', input: node as Record<string, unknown>, key, value },
    );
    node = value;
  }
  return items as [v.IssuePathItem, ...v.IssuePathItem[]];
}
