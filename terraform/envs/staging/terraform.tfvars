# staging: the subscription and tenant; every other value is in main.tf. No secrets here.
subscription_id = "00000000-0000-0000-0000-000000000000"
tenant_id       = "00000000-0000-0000-0000-000000000000"
