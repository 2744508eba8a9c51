// The image's HEALTHCHECK: GET /healthz on the admin listener (TUSGATE_ADMIN's port when set).
const admin = process.env.TUSGATE_ADMIN || '0.0.0.0:9102';
const port = admin.slice(admin.lastIndexOf(':') + 1);
fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(4000) }).then(
  (response) => process.exit(response.ok ? 0 : 1),
  () => process.exit(1),
);
