import { Hono } from 'hono';
import type { GuardEnv } from '../http/guard';
import { type PageRoutes, pageContext, type WebContext } from './context';
import type { RegistrationForm, WebDeps } from './deps';
import { text } from './i18n';
import { RegisterPage } from './pages/workers';
import { checkRegistration, photoOf, registerValues, registrationForm } from './registration-form';

/**
 * `/workers/new`: registers a worker on the Sichuan platform (RegistData), then stores them in the
 * roster under the userId the platform gave. Mounted before `/workers`, whose `/:id` would take "new".
 */
export function registrationRoutes(deps: WebDeps): PageRoutes {
  const routes = new Hono<GuardEnv>();
  routes.get('/', (c) =>
    c.html(
      <RegisterPage
        page={pageContext(c, deps.siteName)}
        values={{}}
        available={deps.registration() !== undefined}
      />,
    ),
  );
  routes.post('/', (c) => register(c, deps));
  return routes;
}

type Outcome = { error?: string; userId?: string; workerId?: string };

async function register(c: WebContext, deps: WebDeps): Promise<Response> {
  const p = pageContext(c, deps.siteName);
  const body = await c.req.parseBody();
  const values = registerValues(body);
  // After a success the form starts empty for the next worker; after an error it keeps what was typed.
  const render = (status: 200 | 400 | 502, outcome: Outcome) =>
    c.html(
      <RegisterPage
        page={p}
        values={outcome.userId ? {} : values}
        available={deps.registration() !== undefined}
        {...outcome}
      />,
      status,
    );
  const registration = deps.registration();
  if (!registration) return render(400, { error: text(p.lang, 'noSichuan') });
  const problem = checkRegistration(values);
  if (problem) return render(400, { error: problem });
  const idPhoto = await photoOf(body['idPhoto']);
  const photo = await photoOf(body['photo']);
  if (!idPhoto || !photo)
    return render(400, { error: 'ID photo and live photo are required (JPEG/PNG ≤ 2 MB)' });
  const form = registrationForm(values, idPhoto, photo);
  let userId: string;
  try {
    ({ userId } = await registration.register(form));
  } catch (error) {
    deps.logger.warn({ error: (error as Error).message }, 'web: RegistData failed');
    return render(502, { error: (error as Error).message });
  }
  const workerId = await storeRegistered(deps, form, userId);
  deps.logger.info({ userId, workerId }, 'web: worker registered on Sichuan');
  return render(200, { userId, workerId });
}

/** The registered worker in the roster (source local), the live photo as face photo; their gateway id. */
async function storeRegistered(
  deps: WebDeps,
  form: RegistrationForm,
  userId: string,
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
    },
  ]);
  return deps.roster.list().find((w) => w.identities.sichuanUserId === userId)?.id;
}
