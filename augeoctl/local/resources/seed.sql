CREATE SCHEMA IF NOT EXISTS app;
CREATE TABLE IF NOT EXISTS app.organizations (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS app.users (
    id bigserial PRIMARY KEY,
    org_id bigint NOT NULL REFERENCES app.organizations(id),
    email text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS app.events (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES app.users(id),
    kind text NOT NULL,
    payload jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS events_user_idx ON app.events(user_id);
INSERT INTO app.organizations(name)
    SELECT 'org-' || g FROM generate_series(1, 10) g
    ON CONFLICT DO NOTHING;
INSERT INTO app.users(org_id, email)
    SELECT 1 + (g % 10), 'user' || g || '@example.test' FROM generate_series(1, 200) g
    ON CONFLICT DO NOTHING;
INSERT INTO app.events(user_id, kind, payload)
    SELECT 1 + (g % 200), (ARRAY['login','view','update'])[1 + g % 3], jsonb_build_object('n', g)
    FROM generate_series(1, 2000) g
    WHERE NOT EXISTS (SELECT 1 FROM app.events);
