# One image for every Procfile role; docker-compose.yml picks the command.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml constraints.txt ./
COPY config config
COPY ingest ingest
COPY worker worker
COPY tasks tasks
COPY flows flows
COPY cli cli
COPY domain domain
COPY clients clients
COPY store store
# Not sandbox/, bench/ or tests/: development tools stay out of the production image.
RUN pip install --no-cache-dir -c constraints.txt .
RUN useradd --system app
USER app
