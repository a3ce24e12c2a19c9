import { useEffect, useRef, useState } from "react";
import { api, call } from "../api/client";
import { ApiError, describeError, fieldErrors } from "../api/errors";

interface Props {
  notice?: string;
  onLoggedIn: (token: string) => Promise<void>;
}

export function LoginPage({ notice, onLoggedIn }: Props) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const emailRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    emailRef.current?.focus();
  }, []);

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    setError(null);
    setFields({});
    const missing: Record<string, string> = {};
    if (!email.trim()) missing.email = "Enter your email address.";
    if (!password) missing.password = "Enter your password.";
    if (Object.keys(missing).length > 0) {
      setFields(missing);
      return;
    }
    setBusy(true);
    try {
      const token = await call(api.POST("/api/v1/auth/login", { body: { email: email.trim(), password } }));
      await onLoggedIn(token.access_token);
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && err.status === 401) setError("Wrong email or password.");
      else if (err instanceof ApiError && err.status === 422) setFields(fieldErrors(err.details));
      else setError(describeError(err));
    }
  }

  return (
    <section className="login" aria-labelledby="login-heading">
      <form className="card" onSubmit={submit} noValidate>
        <h1 id="login-heading">Sign in</h1>
        {notice && !error && <p className="notice notice-info" role="status">{notice}</p>}
        {error && <div className="notice notice-error" role="alert"><p>{error}</p></div>}
        <div className="field">
          <label htmlFor="login-email">Email</label>
          <input id="login-email" ref={emailRef} type="email" autoComplete="username" value={email}
                 onChange={(e) => setEmail(e.target.value)} aria-invalid={fields.email ? true : undefined}
                 aria-describedby={fields.email ? "login-email-error" : undefined} />
          {fields.email && <p className="field-error" id="login-email-error">{fields.email}</p>}
        </div>
        <div className="field">
          <label htmlFor="login-password">Password</label>
          <input id="login-password" type="password" autoComplete="current-password" value={password}
                 onChange={(e) => setPassword(e.target.value)} aria-invalid={fields.password ? true : undefined}
                 aria-describedby={fields.password ? "login-password-error" : undefined} />
          {fields.password && <p className="field-error" id="login-password-error">{fields.password}</p>}
        </div>
        <button type="submit" className="primary" disabled={busy}>{busy ? "Signing in…" : "Sign in"}</button>
      </form>
    </section>
  );
}
