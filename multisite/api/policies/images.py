"""Policies of image distribution: /v2/image-distributions, /v2/images/{id}/ensure and
/v2/image-rollouts (docs/images.md)."""

from oslo_policy import policy

from multisite.api.policies import base

PREFIX = "multisite:images:%s"
DIST_SET = PREFIX % "distribution_set"
DIST_LIST = PREFIX % "distribution_list"
DIST_SHOW = PREFIX % "distribution_show"
DIST_DELETE = PREFIX % "distribution_delete"
LIST_ALL_PROJECTS = PREFIX % "list_all_projects"
ENSURE = PREFIX % "ensure"
ROLLOUT_CREATE = PREFIX % "rollout_create"
ROLLOUT_LIST = PREFIX % "rollout_list"
ROLLOUT_SHOW = PREFIX % "rollout_show"
ROLLOUT_ACT = PREFIX % "rollout_act"

DISTS = "/v2/image-distributions"
ROLLOUTS = "/v2/image-rollouts"

rules = [
    policy.DocumentedRuleDefault(
        DIST_SET, base.ADMIN_OR_MEMBER,
        "Set the distribution mode of the token's project (default) or of one image.",
        [{"method": "PUT", "path": DISTS + "/{image_id_or_default}"}]),
    policy.DocumentedRuleDefault(
        DIST_LIST, base.ADMIN_OR_READER, "List a project's image distribution modes.",
        [{"method": "GET", "path": DISTS}, {"method": "GET", "path": DISTS + "?project_id={p}"}]),
    policy.DocumentedRuleDefault(
        DIST_SHOW, base.ADMIN_OR_READER,
        "Show the distribution mode of the project (default) or of one image.",
        [{"method": "GET", "path": DISTS + "/{image_id_or_default}"}]),
    policy.DocumentedRuleDefault(
        DIST_DELETE, base.ADMIN_OR_MEMBER,
        "Remove a distribution mode (an image falls back to the project default).",
        [{"method": "DELETE", "path": DISTS + "/{image_id_or_default}"}]),
    policy.DocumentedRuleDefault(
        LIST_ALL_PROJECTS, base.ADMIN,
        "List and show the image distributions and rollouts of every project.",
        [{"method": "GET", "path": DISTS + "?all_projects=true"},
         {"method": "GET", "path": ROLLOUTS + "?all_projects=true"}]),
    policy.DocumentedRuleDefault(
        ENSURE, base.ADMIN_OR_MEMBER,
        "Make sure an image is in a region (lazy sync): starts its copy if missing.",
        [{"method": "POST", "path": "/v2/images/{image_id}/ensure"}]),
    policy.DocumentedRuleDefault(
        ROLLOUT_CREATE, base.ADMIN_OR_MEMBER, "Start a controlled rollout of an image.",
        [{"method": "POST", "path": ROLLOUTS}]),
    policy.DocumentedRuleDefault(
        ROLLOUT_LIST, base.ADMIN_OR_READER, "List a project's image rollouts.",
        [{"method": "GET", "path": ROLLOUTS}]),
    policy.DocumentedRuleDefault(
        ROLLOUT_SHOW, base.ADMIN_OR_READER,
        "Show an image rollout: each wave's and region's state.",
        [{"method": "GET", "path": ROLLOUTS + "/{rollout_id}"}]),
    policy.DocumentedRuleDefault(
        ROLLOUT_ACT, base.ADMIN_OR_MEMBER, "Promote, abort or roll back an image rollout.",
        [{"method": "POST", "path": ROLLOUTS + "/{rollout_id}/promote"},
         {"method": "POST", "path": ROLLOUTS + "/{rollout_id}/abort"},
         {"method": "POST", "path": ROLLOUTS + "/{rollout_id}/rollback"}]),
]


def list_rules():
    return rules
