"""The command table: command name -> class, for `multisite` and `openstack multisite`."""

from multisite.cli import (
    addresses,
    dr,
    events,
    identity,
    inventory,
    quota_classes,
    quotas,
    regions,
    sync_jobs,
    sync_policies,
)

COMMANDS = {
    "quota defaults": quotas.DefaultsQuota,
    "quota show": quotas.ShowQuota,
    "quota update": quotas.UpdateQuota,
    "quota detail": quotas.DetailQuota,
    "quota sync": quotas.SyncQuota,
    "quota delete": quotas.DeleteQuota,
    "quota sync-status": quotas.SyncStatusQuota,
    "quota settings show": quotas.ShowQuotaSettings,
    "quota settings set": quotas.SetQuotaSettings,
    "quota-class show": quota_classes.ShowQuotaClass,
    "quota-class update": quota_classes.UpdateQuotaClass,
    "quota-class delete": quota_classes.DeleteQuotaClass,
    "sync create": sync_jobs.CreateSync,
    "sync template": sync_jobs.TemplateSync,
    "sync list": sync_jobs.ListSync,
    "sync show": sync_jobs.ShowSync,
    "sync delete": sync_jobs.DeleteSync,
    "region list": regions.ListRegion,
    "region show": regions.ShowRegion,
    "capacity show": regions.ShowCapacity,
    "event list": events.ListEvent,
    "inventory list": inventory.ListInventory,
    "inventory summary": inventory.SummaryInventory,
    "address list": addresses.ListAddress,
    "address show": addresses.ShowAddress,
    "address conflicts": addresses.ConflictsAddress,
    "address check": addresses.CheckAddress,
    "sync policy create": sync_policies.CreatePolicy,
    "sync policy list": sync_policies.ListPolicies,
    "sync policy show": sync_policies.ShowPolicy,
    "sync policy delete": sync_policies.DeletePolicy,
    "sync policy audit": sync_policies.AuditPolicy,
    "identity node list": identity.ListNode,
    "identity node show": identity.ShowNode,
    "identity rotate": identity.Rotate,
    "dr plan create": dr.CreatePlan,
    "dr plan list": dr.ListPlans,
    "dr plan show": dr.ShowPlan,
    "dr plan discover": dr.DiscoverPlan,
    "dr plan delete": dr.DeletePlan,
    "dr checkpoint create": dr.CreateCheckpoint,
    "dr checkpoint list": dr.ListCheckpoints,
    "dr checkpoint show": dr.ShowCheckpoint,
}


def osc_entry_points():
    """The `openstack.multisite.v1` entry points (pyproject.toml must list exactly these)."""
    return {"multisite_" + name.replace(" ", "_"): f"{cls.__module__}:{cls.__name__}"
            for name, cls in COMMANDS.items()}
