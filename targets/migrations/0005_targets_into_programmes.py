"""Every existing target joins the programme whose years hold its own.

A target whose years fit no programme gets one made from its years (a target without a last year:
five years, the national programmes' rhythm), unless those years overlap a programme already
there: a year belongs to one programme only, so the migration stops and says which target to fix.
"""

from django.db import migrations

PROGRAMME_YEARS = 5


class TargetFitsNoProgramme(RuntimeError):
    pass


def _fits(programme, first: int, last: int | None) -> bool:
    return programme.first_year <= first <= programme.last_year and (last is None or last <= programme.last_year)


def assign(apps, schema_editor):
    Programme = apps.get_model("targets", "Programme")
    Target = apps.get_model("targets", "Target")
    programmes = list(Programme.objects.order_by("first_year"))
    for target in Target.objects.filter(programme__isnull=True).order_by("first_year", "code"):
        first, last = target.first_year, target.last_year
        programme = next((p for p in programmes if _fits(p, first, last)), None)
        if programme is None:
            end = last if last is not None else first + PROGRAMME_YEARS - 1
            clash = next((p for p in programmes if p.first_year <= end and p.last_year >= first), None)
            if clash is not None or Programme.objects.filter(code=f"{first}-{end}").exists():
                raise TargetFitsNoProgramme(
                    f"Target {target.code} ({first}-{last or ''}) fits no programme, and a programme made of its "
                    f"years would overlap programme {clash.code if clash else f'{first}-{end}'}. Change the "
                    "target's years (or the programmes') so that they lie within one programme, then migrate again."
                )
            programme = Programme.objects.create(
                code=f"{first}-{end}", name=f"Giai đoạn {first}-{end}", first_year=first, last_year=end
            )
            programmes.append(programme)
        target.programme = programme
        target.save(update_fields=["programme"])


class Migration(migrations.Migration):
    dependencies = [
        ("targets", "0004_programme_owns_targets"),
    ]

    operations = [migrations.RunPython(assign, migrations.RunPython.noop)]
