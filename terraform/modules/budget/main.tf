# A monthly budget on the environment's resource group: notifications at 80 % and 100 %
# of actual cost and at 100 % of forecast cost; and the cost-variance check (SC-010): every
# Monday, Cost Management mails the resource group's accumulated actual cost, its forecast
# and the budget line (the built-in "AccumulatedCosts" view) to the same contacts.

resource "azurerm_consumption_budget_resource_group" "monthly" {
  name              = "budget-${var.prefix}"
  resource_group_id = var.resource_group_id
  amount            = var.amount
  time_grain        = "Monthly"

  time_period {
    start_date = var.start_date
  }

  notification {
    enabled        = true
    threshold      = 80
    operator       = "GreaterThan"
    threshold_type = "Actual"
    contact_emails = var.contact_emails
  }

  notification {
    enabled        = true
    threshold      = 100
    operator       = "GreaterThan"
    threshold_type = "Actual"
    contact_emails = var.contact_emails
  }

  notification {
    enabled        = true
    threshold      = 100
    operator       = "GreaterThan"
    threshold_type = "Forecasted"
    contact_emails = var.contact_emails
  }
}

resource "azurerm_cost_management_scheduled_action" "variance" {
  name                 = "cost-variance-${var.prefix}"
  display_name         = "Augeo ${var.prefix}: actual and forecast cost against the budget"
  view_id              = "${var.resource_group_id}/providers/Microsoft.CostManagement/views/ms:AccumulatedCosts"
  email_address_sender = var.contact_emails[0]
  email_addresses      = var.contact_emails
  email_subject        = "Cost variance: ${var.prefix}"
  message              = "Month-to-date actual and forecast cost of ${var.prefix} against its monthly budget of ${var.amount} USD (terraform/README.md, Cost)."
  frequency            = "Weekly"
  days_of_week         = ["Monday"]
  hour_of_day          = 7
  start_date           = var.start_date
  end_date             = var.report_end_date
}
