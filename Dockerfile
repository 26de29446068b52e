FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY config ./config
COPY orders ./orders
COPY coupons ./coupons
COPY messaging ./messaging
COPY checkout ./checkout
RUN pip install --no-cache-dir .
COPY . .
RUN DJANGO_DEBUG=true python manage.py collectstatic --noinput -v0 \
    && useradd --create-home app && mkdir -p var && chown -R app var
USER app
EXPOSE 8000
