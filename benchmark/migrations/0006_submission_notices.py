from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("benchmark", "0005_zoomodel_dtype_device"),
    ]

    operations = [
        migrations.AddField(
            model_name="submission",
            name="notices",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="Files of the zip that were not scored: path, reason.",
            ),
        ),
    ]
