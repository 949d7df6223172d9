"""Photos and thumbnails stored before every bit of metadata was stripped may
still carry an ICC profile or a comment (once "John Doe 51.50N" came back
through a public link): rewrite them with their pixels alone, and drop their
cached encodings so they are made again from the clean file."""

import glob
import os

from django.conf import settings
from django.db import migrations


def strip_leftovers(apps, schema_editor):
    from chat.photos import images

    Image = apps.get_model("chat", "Image")
    cache = os.path.join(settings.MEDIA_ROOT, "encoded")
    for image in Image.objects.only("id", "file", "thumbnail").iterator():
        changed = False
        for field in (image.file, image.thumbnail):
            if field.name and field.storage.exists(field.name):
                changed |= images.restrip(field.path)
        if changed:
            stem = os.path.splitext(os.path.basename(image.file.name))[0]
            for cached in glob.glob(os.path.join(cache, f"{stem}.*")):
                os.unlink(cached)


class Migration(migrations.Migration):
    dependencies = [("chat", "0008_reply_requested_by")]

    operations = [migrations.RunPython(strip_leftovers, migrations.RunPython.noop)]
