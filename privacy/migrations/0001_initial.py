import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('stores', '0003_timezone'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='DataExport',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], default='pending', max_length=8)),
                ('base_url', models.CharField(blank=True, max_length=255)),
                ('file', models.CharField(blank=True, help_text="The file's name in the exports storage.", max_length=255)),
                ('error', models.CharField(blank=True, max_length=255)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['created_at'], name='data_export_created')],
                'constraints': [models.UniqueConstraint(condition=models.Q(('status__in', ['pending', 'running'])), fields=('user',), name='data_export_one_open_per_user')],
            },
        ),
        migrations.CreateModel(
            name='Erasure',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('account', 'Account deleted'), ('guest', 'Guest erased by a store'), ('guest_retention', 'Guest orders past retention')], max_length=16)),
                ('subject', models.CharField(help_text='user:<id> for an account; empty for a guest.', max_length=64)),
                ('actor_label', models.CharField(blank=True, help_text='Who asked: the customer, a member, system.', max_length=255)),
                ('counts', models.JSONField(blank=True, default=dict, help_text='Rows changed per table.')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('store', models.ForeignKey(blank=True, help_text="The store that erased a guest's data.", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='stores.store')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='RetentionRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('dry_run', models.BooleanField(default=False)),
                ('started_at', models.DateTimeField()),
                ('finished_at', models.DateTimeField()),
                ('results', models.JSONField(default=dict, help_text='kind → rows removed (or due, on a dry run)')),
            ],
            options={
                'ordering': ['-started_at', '-id'],
            },
        ),
    ]
