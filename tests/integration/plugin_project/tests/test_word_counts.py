def test_word_counts_on_the_emulator(batchml_connections, airflow_db):
    from word_counts_dag import word_counts

    dag = word_counts()
    run = dag.test()

    assert run.state == "success"
    counts = run.get_task_instance("counts").xcom_pull(task_ids="counts")
    assert counts == {"a.txt": 3, "b.txt": 5, "c.txt": 1}
