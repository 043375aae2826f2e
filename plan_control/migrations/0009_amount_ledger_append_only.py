"""The amount ledger is evidence: on PostgreSQL a trigger refuses every UPDATE and DELETE of its rows, whoever
issues them (the model and its queryset refuse too; this covers raw SQL and other clients). TRUNCATE, which the
test runner's flush uses, fires no row trigger."""

from django.db import migrations

CREATE = """
CREATE FUNCTION plan_control_amount_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'plan_control_amountledger rows are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER plan_control_amount_ledger_append_only
    BEFORE UPDATE OR DELETE ON plan_control_amountledger
    FOR EACH ROW EXECUTE FUNCTION plan_control_amount_ledger_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS plan_control_amount_ledger_append_only ON plan_control_amountledger;
DROP FUNCTION IF EXISTS plan_control_amount_ledger_append_only();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("plan_control", "0008_budget")]

    operations = [migrations.RunPython(create, drop)]
