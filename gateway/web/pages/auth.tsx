import { CodeText, Csrf, Layout, Notice, type PageContext, t } from '../layout';

export function LoginPage(props: { page: PageContext; error?: string }) {
  const { page } = props;
  return (
    <Layout page={page} title={t(page, 'login')}>
      {props.error && <Notice kind="error">{props.error}</Notice>}
      <form method="post" action="/login" class="narrow" id="login-form">
        <label>
          {t(page, 'password')}
          <input type="password" name="password" autocomplete="current-password" required autofocus />
        </label>
        <button type="submit">{t(page, 'login')}</button>
      </form>
    </Layout>
  );
}

export function SetupPage(props: { page: PageContext; error?: string }) {
  const { page } = props;
  return (
    <Layout page={page} title={t(page, 'setupTitle')}>
      <p>{t(page, 'setupHint')}</p>
      {props.error && <Notice kind="error">{props.error}</Notice>}
      <form method="post" action="/setup" class="narrow" id="setup-form">
        <label>
          {t(page, 'setupCode')}
          <input name="code" autocomplete="one-time-code" autocapitalize="characters" required autofocus />
          <small class="muted">
            <CodeText text={t(page, 'setupCodeHint')} />
          </small>
        </label>
        <NewPasswordFields page={page} />
        <button type="submit">{t(page, 'save')}</button>
      </form>
    </Layout>
  );
}

export function AccountPage(props: { page: PageContext; fromConfig: boolean; error?: string; ok?: string }) {
  const { page } = props;
  return (
    <Layout page={page} title={t(page, 'account')}>
      {props.error && <Notice kind="error">{props.error}</Notice>}
      {props.ok && <Notice kind="ok">{props.ok}</Notice>}
      <h2>{t(page, 'changePassword')}</h2>
      {props.fromConfig ? (
        <p>{t(page, 'passwordFromConfig')}</p>
      ) : (
        <form method="post" action="/account/password" class="narrow">
          <Csrf page={page} />
          <label>
            {t(page, 'currentPassword')}
            <input type="password" name="current" autocomplete="current-password" required />
          </label>
          <NewPasswordFields page={page} />
          <button type="submit">{t(page, 'save')}</button>
        </form>
      )}
    </Layout>
  );
}

/** A new password typed twice, the same on first-run setup and on password change. */
function NewPasswordFields(props: { page: PageContext }) {
  const { page } = props;
  return (
    <>
      <label>
        {t(page, 'newPassword')}
        <input type="password" name="password" autocomplete="new-password" minlength={8} required />
      </label>
      <label>
        {t(page, 'repeatPassword')}
        <input type="password" name="repeat" autocomplete="new-password" minlength={8} required />
      </label>
    </>
  );
}
