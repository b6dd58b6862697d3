import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("targets", "0003_alter_area_code_alter_programme_code_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="programme",
            name="closed",
            field=models.BooleanField(
                default=False,
                help_text="A closed programme stays readable; its targets can no longer be changed or given thresholds.",
                verbose_name="closed",
            ),
        ),
        migrations.AddField(
            model_name="programme",
            name="legal_sources",
            field=models.TextField(
                blank=True,
                help_text="The national and provincial documents the programme carries out.",
                verbose_name="legal sources",
            ),
        ),
        migrations.AddField(
            model_name="programme",
            name="plan_documents",
            field=models.TextField(
                blank=True,
                help_text="The province's plans and yearly plans that set its targets.",
                verbose_name="plan documents",
            ),
        ),
        migrations.AddField(
            model_name="target",
            name="continues",
            field=models.ForeignKey(
                blank=True,
                help_text="The target of an earlier programme that this one carries on: one series runs through both.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="continued_by",
                to="targets.target",
                verbose_name="continues",
            ),
        ),
        # Nullable until the next migration has given every existing target its programme.
        migrations.AddField(
            model_name="target",
            name="programme",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="targets",
                to="targets.programme",
                verbose_name="programme",
            ),
        ),
    ]
