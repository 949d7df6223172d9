from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0011_live_limits"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="regions",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="message",
            name="find",
            field=models.CharField(blank=True, max_length=200),
        ),
    ]
