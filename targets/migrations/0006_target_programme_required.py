import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("targets", "0005_targets_into_programmes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="target",
            name="programme",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="targets",
                to="targets.programme",
                verbose_name="programme",
            ),
        ),
        migrations.AddConstraint(
            model_name="target",
            constraint=models.UniqueConstraint(
                fields=("continues",),
                name="target_continued_once",
                violation_error_message="The target continued is already continued by another target.",
            ),
        ),
    ]
