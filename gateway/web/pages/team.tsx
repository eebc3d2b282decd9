import type { Worker } from '../../roster/roster';
import { CodeText, Csrf, Notice, type PageContext } from '../layout';
import { TEAM_FIELD_MAX, TEAM_FIELDS, type TeamField } from '../team-fields';
import { tw } from '../team-words';

/** The teams and employers the roster already has, offered as the fields are typed. */
export interface TeamChoices {
  readonly team: readonly string[];
  readonly employer: readonly string[];
}

/** The two fields (team, employer) with the values already in use to pick from; for any form. */
export function TeamInputs(props: {
  page: PageContext;
  values: Readonly<Partial<Record<TeamField, string>>>;
  choices: TeamChoices;
}) {
  const { page } = props;
  return (
    <>
      {TEAM_FIELDS.map((field) => (
        <label>
          {tw(page.lang, field)}
          <input
            name={field}
            value={props.values[field] ?? ''}
            maxlength={TEAM_FIELD_MAX[field]}
            list={`${field}-choices`}
            autocomplete="off"
          />
        </label>
      ))}
      {TEAM_FIELDS.map((field) => (
        <datalist id={`${field}-choices`}>
          {props.choices[field].map((value) => (
            <option value={value} />
          ))}
        </datalist>
      ))}
    </>
  );
}

/** The worker page's form: team and employer, saved with POST → 303 back to the worker's page. */
export function TeamForm(props: {
  page: PageContext;
  worker: Worker;
  choices: TeamChoices;
  /** What was typed, when the last save was refused. */
  typed?: Readonly<Partial<Record<TeamField, string>>>;
}) {
  const { page, worker } = props;
  return (
    <>
      <h2>{tw(page.lang, 'teamSection')}</h2>
      <form
        method="post"
        action={`/workers/${encodeURIComponent(worker.id)}/team`}
        class="filters"
        id="team-form"
      >
        <Csrf page={page} />
        <TeamInputs
          page={page}
          values={props.typed ?? { team: worker.team, employer: worker.employer }}
          choices={props.choices}
        />
        <button type="submit">{tw(page.lang, 'save')}</button>
      </form>
      <p class="hint">{tw(page.lang, 'teamHint')}</p>
    </>
  );
}

/** The worker list's filters by team and employer (exact values, from the roster). */
export function TeamFilters(props: {
  page: PageContext;
  choices: TeamChoices;
  selected: Readonly<Partial<Record<TeamField, string>>>;
}) {
  const { page } = props;
  return (
    <>
      {TEAM_FIELDS.map((field) => (
        <select name={field} aria-label={tw(page.lang, field)}>
          <option value="">{tw(page.lang, field === 'team' ? 'allTeams' : 'allEmployers')}</option>
          {props.choices[field].map((value) => (
            <option value={value} selected={props.selected[field] === value}>
              {value}
            </option>
          ))}
        </select>
      ))}
    </>
  );
}

/** A notice whose text may name files or extensions in `backticks` (shown as code, not translated). */
export function TeamNotice(props: { kind: 'ok' | 'error'; text: string; raw?: string }) {
  return (
    <Notice kind={props.kind}>
      <CodeText text={props.text} />
      {props.raw && (
        <>
          {' '}
          <small class="raw" translate="no">
            {props.raw}
          </small>
        </>
      )}
    </Notice>
  );
}
