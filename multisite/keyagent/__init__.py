"""Key agent: a small mutual-TLS service beside each Keystone that receives its key repositories."""
