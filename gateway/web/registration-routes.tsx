import { Hono } from 'hono';
import type { GuardEnv } from '../http/guard';
import { seeOther } from '../http/redirect';
import { type PageRoutes, pageContext, type WebContext } from './context';
import { Flash } from './flash';
import { text } from './i18n';
import { RegisterPage } from './pages/workers';
import type { RegistrationForm, WebDeps } from './port';
import { checkRegistration, photoOf, registerValues, registrationForm } from './registration-form';
import { cleanTeamValue, TEAM_FIELDS, type TeamField, teamValues } from './team-fields';
import { sayTeamProblem } from './team-words';

/** What the POST leaves for the page its 303 leads to. */
interface Outcome {
  /** What was typed, kept after an error (never the photos: the browser sends them again only if chosen again). */
  readonly values?: Record<string, string>;
  readonly error?: string;
  /** The error is the form's own: nothing went to the platform. */
  readonly errorIsLocal?: boolean;
  readonly userId?: string;
  readonly workerId?: string;
}

/**
 * `/workers/new`: registers a worker on the Sichuan platform (RegistData), then stores them in the
 * roster under the userId the platform gave. The POST answers 303 back here (post/redirect/get): a
 * reload shows the page and never registers the worker a second time. Mounted before `/workers`,
 * whose `/:id` would take "new".
 */
export function registrationRoutes(deps: WebDeps): PageRoutes {
  const outcomes = new Flash<Outcome>();
  const routes = new Hono<GuardEnv>();
  routes.get('/', (c) => {
    const outcome = outcomes.take(c) ?? {};
    return c.html(
      <RegisterPage
        page={pageContext(c, deps.siteName)}
        values={outcome.values ?? {}}
        available={deps.registration() !== undefined}
        error={outcome.error}
        errorIsLocal={outcome.errorIsLocal}
        userId={outcome.userId}
        workerId={outcome.workerId}
        teamChoices={{
          team: teamValues(deps.roster.list(), 'team'),
          employer: teamValues(deps.roster.list(), 'employer'),
        }}
      />,
    );
  });
  routes.post('/', async (c) => {
    outcomes.put(c, await register(c, deps));
    return seeOther(c, '/workers/new');
  });
  return routes;
}

async function register(c: WebContext, deps: WebDeps): Promise<Outcome> {
  const p = pageContext(c, deps.siteName);
  const body = await c.req.parseBody();
  const values = registerValues(body);
  const local = (error: string): Outcome => ({ values, error, errorIsLocal: true });
  const registration = deps.registration();
  if (!registration) return local(text(p.lang, 'noSichuan'));
  const problem = checkRegistration(values);
  if (problem) return local(problem);
  // Optional, the site's own: checked here, never sent to the platform.
  const team: Partial<Record<TeamField, string>> = {};
  for (const field of TEAM_FIELDS) {
    const cleaned = cleanTeamValue(field, values[field] ?? '');
    if ('problem' in cleaned) return local(sayTeamProblem(p.lang, cleaned.problem));
    if (cleaned.value) team[field] = cleaned.value;
  }
  const idPhoto = await photoOf(body['idPhoto'], 'idPhoto');
  if ('problem' in idPhoto) return local(idPhoto.problem);
  const photo = await photoOf(body['photo'], 'photo');
  if ('problem' in photo) return local(photo.problem);
  const form = registrationForm(values, idPhoto.bytes, photo.bytes);
  let userId: string;
  try {
    ({ userId } = await registration.register(form));
  } catch (error) {
    deps.logger.warn({ error: (error as Error).message }, 'web: RegistData failed');
    return { values, error: (error as Error).message, errorIsLocal: false };
  }
  const workerId = await storeRegistered(deps, form, userId, team);
  deps.logger.info({ userId, workerId }, 'web: worker registered on Sichuan');
  // After a success the form starts empty for the next worker.
  return { userId, workerId };
}

/** The registered worker in the roster (source local), the live photo as face photo; their gateway id. */
async function storeRegistered(
  deps: WebDeps,
  form: RegistrationForm,
  userId: string,
  team: Partial<Record<TeamField, string>>,
): Promise<string | undefined> {
  await deps.roster.apply([
    {
      source: 'local',
      op: 'upsert',
      identity: { sichuanUserId: userId, idCardNo: form.idCardNo },
      name: form.name,
      gender: form.gender,
      workerType: String(form.userType),
      facePhoto: form.photo,
      ...team,
    },
  ]);
  return deps.roster.list().find((w) => w.identities.sichuanUserId === userId)?.id;
}
