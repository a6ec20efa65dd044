# The portal workbook: dashboards/workbook.json with the query of each query item (type 3)
# taken from dashboards/queries/, the files `augeoctl` runs. An item's name starts with its
# query's file name ("traffic_over_time:p95" runs traffic_over_time.kql), and a query is
# the shared definition of the API's traffic (api_traffic.kql) followed by its own file, as
# augeoctl.health.azure.kql joins them.
#
# Only locals here: tests/terraform evaluates this file with `terraform console`, which
# needs no provider, and compares the JSON to dashboards/workbook.json.
locals {
  workbook_queries = "${path.module}/../../../dashboards/queries"
  workbook         = jsondecode(file("${path.module}/../../../dashboards/workbook.json"))
  kql = {
    for f in fileset(local.workbook_queries, "*.kql") : trimsuffix(f, ".kql") =>
    "${file("${local.workbook_queries}/api_traffic.kql")}${file("${local.workbook_queries}/${f}")}"
    if f != "api_traffic.kql"
  }
  # Items differ in shape, so each goes through JSON to make the conditional's two results
  # one type.
  workbook_items = [
    for item in local.workbook.items : jsondecode(item.type == 3
      ? jsonencode(merge(item, { content = merge(item.content, { query = local.kql[split(":", item.name)[0]] }) }))
    : jsonencode(item))
  ]
  workbook_json = jsonencode(merge(local.workbook, { items = local.workbook_items }))
}
