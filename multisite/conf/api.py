"""[DEFAULT] options of the API service (names as in Kingbird)."""

from oslo_config import cfg

API_OPTS = [
    cfg.HostAddressOpt("bind_host", default="0.0.0.0",
                       help="The host IP to bind the API to."),
    cfg.PortOpt("bind_port", default=8118, help="The port to bind the API to."),
    cfg.IntOpt("api_workers", default=2, min=1,
               help="Number of API worker processes."),
    cfg.StrOpt("api_server", default="gunicorn", choices=["gunicorn", "uwsgi"],
               help="The WSGI server multisite-api runs: 'gunicorn' (its own worker class: "
                    "requests refused before the application runs get JSON errors) or "
                    "'uwsgi' (multisite.wsgi.api under uWSGI, api_workers processes of 8 "
                    "threads: about a third less CPU per request; needs the 'uwsgi' extra, "
                    "pyuwsgi). The all-in-one always runs gunicorn."),
    cfg.StrOpt("auth_strategy", default="keystone", choices=["keystone", "noauth"],
               help="'keystone' validates tokens with keystonemiddleware; 'noauth' trusts "
                    "the identity headers of the request (local development only)."),
    cfg.BoolOpt("noauth_insecure_allow_remote_bind", default=False,
                help="With auth_strategy = noauth, allow a bind_host that is not a loopback "
                     "address. INSECURE: anyone who can reach the port is trusted as "
                     "whatever identity (admin included) its headers claim. Without it, "
                     "noauth on a non-loopback address refuses to start."),
    cfg.IntOpt("api_request_max_body_size", default=1024 * 1024, min=1024,
               help="Largest request body accepted by the API, in bytes."),
    # Kingbird declared these and never used them; accepted so old files load.
    cfg.StrOpt("state_path", default="/var/lib/multisite",
               help="Directory of local state: the file locks when [coordination] "
                    "backend_url is not set, and the all-in-one's SQLite database when "
                    "[database] connection is not set (the all-in-one defaults it to "
                    "./state or $MULTISITE_STATE_DIR)."),
    cfg.StrOpt("api_extensions_path", default="",
               help="Unused; accepted for kingbird.conf compatibility."),
    cfg.BoolOpt("allow_bulk", default=True,
                help="Unused; accepted for kingbird.conf compatibility."),
    cfg.BoolOpt("allow_pagination", default=False,
                help="Unused; accepted for kingbird.conf compatibility."),
    cfg.BoolOpt("allow_sorting", default=False,
                help="Unused; accepted for kingbird.conf compatibility."),
    cfg.StrOpt("pagination_max_limit", default="-1",
               help="Unused; accepted for kingbird.conf compatibility."),
]

pecan_group = cfg.OptGroup("pecan", title="Kingbird pecan options (unused, accepted)")
PECAN_OPTS = [
    cfg.StrOpt("root", default="kingbird.api.controllers.root.RootController",
               help="Unused; accepted for kingbird.conf compatibility."),
    cfg.ListOpt("modules", default=["kingbird.api"],
                help="Unused; accepted for kingbird.conf compatibility."),
    cfg.BoolOpt("debug", default=False,
                help="Unused; accepted for kingbird.conf compatibility."),
    cfg.BoolOpt("auth_enable", default=True,
                help="Unused; accepted for kingbird.conf compatibility."),
]


api_group = cfg.OptGroup("api", title="The /v2 API (Multisite-native resources)")
V2_OPTS = [
    cfg.IntOpt("default_limit", default=100, min=1,
               help="Items a /v2 collection returns when the request has no limit."),
    cfg.IntOpt("max_limit", default=1000, min=1,
               help="Most items a /v2 collection returns; a larger limit is lowered to this."),
    cfg.FloatOpt("policy_file_check_interval", default=5.0, min=0,
                 help="Seconds between two looks at the policy file and policy directories "
                      "([oslo_policy] policy_file, policy_dirs) for changes. oslo.policy looks "
                      "on every request (a stat of each file, or a search of the config "
                      "directories when there is no policy file); with this, a changed "
                      "policy file takes effect within this many seconds in each worker. 0 "
                      "looks on every request."),
]


# Kingbird's [keystone_authtoken] auth_uri, renamed www_authenticate_uri by
# keystonemiddleware; still honoured so an existing kingbird.conf works.
AUTHTOKEN_COMPAT_OPTS = [
    cfg.StrOpt("auth_uri", deprecated_for_removal=True,
               deprecated_reason="Use www_authenticate_uri (keystonemiddleware).",
               help="Public identity endpoint advertised in WWW-Authenticate (Kingbird name)."),
]


def register_opts(conf):
    conf.register_opts(API_OPTS)
    conf.register_opts(AUTHTOKEN_COMPAT_OPTS, group="keystone_authtoken")
    conf.register_group(pecan_group)
    conf.register_opts(PECAN_OPTS, group=pecan_group)
    conf.register_group(api_group)
    conf.register_opts(V2_OPTS, group=api_group)


def list_opts():
    return [("DEFAULT", API_OPTS), (pecan_group, PECAN_OPTS), (api_group, V2_OPTS)]
