"""[dashboard] options: the operator web page served by multisite-api."""

from oslo_config import cfg

dashboard_group = cfg.OptGroup("dashboard", title="Operator dashboard (/dashboard/)")
DASHBOARD_OPTS = [
    cfg.BoolOpt("enabled", default=True,
                help="Serve the operator dashboard under /dashboard/ of the API."),
    cfg.StrOpt("secure_cookie", default="auto", choices=["auto", "always", "never"],
               help="Secure flag of the session cookie: 'auto' sets it when the request "
                    "came over https (wsgi.url_scheme, so put the API behind "
                    "HTTPProxyToWSGI or a TLS-terminating gunicorn); 'always' behind a TLS "
                    "proxy that does not say so."),
    cfg.FloatOpt("keystone_timeout", default=10.0, min=0.5,
                 help="Seconds the login endpoint waits for Keystone."),
    cfg.StrOpt("keystone_url",
               help="Identity endpoint (…/v3) the login endpoint asks for tokens; default "
                    "[keystone_authtoken] www_authenticate_uri (or auth_uri, auth_url)."),
    cfg.StrOpt("cafile",
               help="CA bundle to verify an https Keystone with; default: certifi's."),
    cfg.IntOpt("login_attempts_per_source", default=30, min=0,
               help="Logins (POST /auth/session) one client address may attempt per "
                    "login_rate_period; more are refused with 429 and Retry-After before "
                    "Keystone is asked. Counted per API worker process. 0: no limit."),
    cfg.IntOpt("login_failures_per_user", default=5, min=0,
               help="Refused logins of one user name (in one domain) per "
                    "login_rate_period, from any address; a successful login clears "
                    "them. Counted per API worker process. 0: no limit. Keystone's "
                    "[security_compliance] lockout_failure_attempts is the durable lockout."),
    cfg.IntOpt("login_rate_period", default=60, min=1,
               help="Seconds of the sliding window of the two login limits."),
]


def register_opts(conf):
    conf.register_group(dashboard_group)
    conf.register_opts(DASHBOARD_OPTS, group=dashboard_group)


def list_opts():
    return [(dashboard_group, DASHBOARD_OPTS)]
