-- The sandbox's application data, applied after the schema's migrations
-- (augeoctl/migrations); idempotent, so it runs at every start.
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
